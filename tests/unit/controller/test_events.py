"""Events posted off the reconcile path: in order, bounded, dropped and counted when full,
flushed on stop within a bound, a failed post never stops the others."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from kubernaut_wfe.adapters.kube import ApiError
from kubernaut_wfe.constants import EventReason, EventType
from kubernaut_wfe.core.actions import KubeEvent
from kubernaut_wfe.reconcile.events import EventPoster, involved_reference

WFE = {
    "apiVersion": "kubernaut.ai/v1alpha1",
    "kind": "WorkflowExecution",
    "metadata": {"name": "w", "namespace": "team", "uid": "u", "resourceVersion": "3"},
    "spec": {"targetResource": "team/deployment/x"},
}


def event(message: str) -> KubeEvent:
    return KubeEvent(EventReason.PIPELINE_RUN_CREATED, EventType.NORMAL, message)


class Sink:
    """Records posts; `gate` (when set) holds every post until it is set; `fail` raises."""

    def __init__(self, *, gate: asyncio.Event | None = None, fail: set[str] | None = None):
        self.posted: list[tuple[dict[str, Any], str]] = []
        self.gate = gate
        self.fail = fail or set()

    async def create_event(
        self, involved: Mapping[str, Any], *, type: str, reason: str, message: str
    ) -> Any:
        if self.gate is not None:
            await self.gate.wait()
        if message in self.fail:
            raise ApiError(500, "InternalError", "boom")
        self.posted.append((dict(involved), message))
        return None


def counter() -> Counter:
    return Counter("dropped", "dropped", registry=CollectorRegistry())


async def test_events_are_posted_in_order_about_the_involved_object() -> None:
    sink = Sink()
    poster = EventPoster(sink)
    poster.post(WFE, [event("one"), event("two")])
    await poster.join()
    assert [message for _, message in sink.posted] == ["one", "two"]
    assert sink.posted[0][0] == involved_reference(WFE)
    assert "spec" not in sink.posted[0][0]
    await poster.stop()


async def test_a_full_queue_drops_and_counts_without_waiting() -> None:
    gate = asyncio.Event()
    dropped = counter()
    sink = Sink(gate=gate)
    poster = EventPoster(sink, dropped=dropped, capacity=2)
    poster.post(WFE, [event("1"), event("2"), event("3"), event("4")])
    assert dropped._value.get() == 2
    gate.set()
    await poster.join()
    assert [message for _, message in sink.posted] == ["1", "2"]
    await poster.stop()


async def test_stop_flushes_what_is_queued() -> None:
    sink = Sink()
    poster = EventPoster(sink)
    poster.post(WFE, [event("a"), event("b")])
    await poster.stop(grace=5)
    assert [message for _, message in sink.posted] == ["a", "b"]


async def test_stop_drops_what_cannot_be_posted_within_the_bound() -> None:
    dropped = counter()
    poster = EventPoster(Sink(gate=asyncio.Event()), dropped=dropped)
    poster.post(WFE, [event("a"), event("b")])
    await poster.stop(grace=0.01)
    assert dropped._value.get() == 1  # the one in flight is cancelled, the queued one dropped
    poster.post(WFE, [event("late")])
    assert dropped._value.get() == 2


async def test_a_failed_post_does_not_stop_the_next_ones() -> None:
    sink = Sink(fail={"bad"})
    poster = EventPoster(sink)
    poster.post(WFE, [event("bad"), event("good")])
    await poster.join()
    assert [message for _, message in sink.posted] == ["good"]
    await poster.stop()
