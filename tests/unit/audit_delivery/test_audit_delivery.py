"""Audit delivery over the real client and an in-memory DataStorage, in fake loop time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry

from kubernaut_wfe.adapters.audit_config import AuditDeliveryConfig, backoff_delay
from kubernaut_wfe.adapters.audit_delivery import EXPIRED_DETAIL, AuditDelivery, PendingEvent
from kubernaut_wfe.constants import AuditEventType
from kubernaut_wfe.datastorage.client import DataStorageClient
from kubernaut_wfe_tools.testing.fake_datastorage import AT, NOW, FakeDataStorage, Fault, make_event

pytestmark = pytest.mark.looptime

FAILED = AuditEventType.WORKFLOW_FAILED
SELECTED = AuditEventType.SELECTION_COMPLETED


class Harness:
    def __init__(self, delivery: AuditDelivery, woken: list[str], settled: list[str]) -> None:
        self.delivery = delivery
        self.woken = woken
        self.settled = settled

    def submit(self, name: str, event_type: AuditEventType = SELECTED, **kwargs: Any) -> bool:
        verify_first = kwargs.pop("verify_first", False)
        event = make_event(name, event_type, **kwargs)
        return self.delivery.submit(f"uid-{name}", event, verify_first=verify_first)

    async def until(self, condition: Callable[[], bool], within: float = 3600) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not condition():
            assert loop.time() < deadline, "condition not reached"
            await asyncio.sleep(0.05)

    async def resolved(self, *names: str) -> None:
        await self.until(lambda: all(not self.delivery.pending_for(f"uid-{n}") for n in names))


@pytest.fixture
async def make_harness(
    client: DataStorageClient, registry: CollectorRegistry
) -> AsyncIterator[Callable[..., Harness]]:
    started: list[AuditDelivery] = []

    def make(**config: Any) -> Harness:
        woken: list[str] = []
        settled: list[str] = []
        delivery = AuditDelivery(
            client,
            registry=registry,
            config=AuditDeliveryConfig(**config),
            on_outcome=woken.append,
            on_settled=settled.append,
            now=lambda: NOW,
            rng=lambda: 0.5,
        )
        delivery.start()
        started.append(delivery)
        return Harness(delivery, woken, settled)

    yield make
    for delivery in started:
        await delivery.stop(timeout=0)


def count(registry: CollectorRegistry, result: str) -> float:
    return (
        registry.get_sample_value("workflowexecution_audit_events_total", {"result": result}) or 0
    )


async def test_a_forgotten_wfes_events_still_settle(
    make_harness: Callable[..., Harness],
) -> None:
    """A WFE gone while its events were pending (its spool waits on them): nobody reads their
    outcomes, but their settling is still reported."""
    harness = make_harness()
    harness.submit("wfe-gone", FAILED)
    harness.delivery.forget("uid-wfe-gone")
    await harness.resolved("wfe-gone")
    assert harness.woken == []
    assert harness.settled == ["uid-wfe-gone"]


async def test_a_full_batch_goes_at_once_and_the_rest_after_the_interval(
    make_harness: Callable[..., Harness], datastorage: FakeDataStorage
) -> None:
    harness = make_harness(batch_size=3, flush_interval=10.0)
    for index in range(7):
        harness.submit(f"wfe-{index}")
    await asyncio.sleep(5)
    assert datastorage.batches == [3, 3]
    await harness.resolved(*(f"wfe-{index}" for index in range(7)))
    assert datastorage.batches == [3, 3, 1]


async def test_a_partial_batch_waits_for_the_flush_interval(
    make_harness: Callable[..., Harness], datastorage: FakeDataStorage
) -> None:
    harness = make_harness(batch_size=100, flush_interval=1.0)
    harness.submit("wfe-a")
    harness.submit("wfe-b")
    await asyncio.sleep(0.5)
    assert datastorage.batches == []
    await asyncio.sleep(1.0)
    assert datastorage.batches == [2]


async def test_outcomes_are_reported_once_and_wake_the_wfe(
    make_harness: Callable[..., Harness], registry: CollectorRegistry
) -> None:
    harness = make_harness()
    harness.submit("wfe-a", SELECTED)
    harness.submit("wfe-a", FAILED)
    await harness.resolved("wfe-a")
    assert harness.delivery.take_outcomes("uid-wfe-a") == ({SELECTED, FAILED}, {})
    assert harness.delivery.take_outcomes("uid-wfe-a") == (set(), {})
    assert harness.woken == ["uid-wfe-a", "uid-wfe-a"]
    assert harness.settled == ["uid-wfe-a"]  # once, when its last pending event resolved
    assert count(registry, "enqueued") == 2
    assert count(registry, "delivered") == 2


def test_backoff_grows_exponentially_within_jitter_bounds_up_to_the_cap() -> None:
    config = AuditDeliveryConfig(initial_backoff=0.5, max_backoff=8.0, backoff_multiplier=2.0)
    bases = [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    for attempt, base in enumerate(bases, start=1):
        assert backoff_delay(attempt, config, lambda: 0.0) == base / 2
        assert backoff_delay(attempt, config, lambda: 1.0) == base
    assert backoff_delay(10_000, config, lambda: 1.0) == 8.0


async def test_unavailability_is_retried_without_limit(
    make_harness: Callable[..., Harness],
    datastorage: FakeDataStorage,
    registry: CollectorRegistry,
) -> None:
    harness = make_harness(max_backoff=5.0)
    kinds: list[Fault] = ["refuse", 503, 500, 429]
    datastorage.fail_next(*kinds * 15)
    harness.submit("wfe-a")
    await harness.resolved("wfe-a")
    assert datastorage.stored_types("wfe-a") == [SELECTED.value]
    assert count(registry, "retried") == 60
    assert harness.delivery.take_outcomes("uid-wfe-a") == ({SELECTED}, {})


@pytest.mark.parametrize("max_retries", [0, 2])
async def test_a_batch_out_of_retries_goes_back_to_the_queue_and_is_delivered_later(
    make_harness: Callable[..., Harness],
    datastorage: FakeDataStorage,
    registry: CollectorRegistry,
    max_retries: int,
) -> None:
    posted: list[str] = []
    failing = {"wfe-stuck"}

    def unavailable_for(event: dict[str, Any]) -> bool:
        posted.append(event["resource_id"])
        return event["resource_id"] in failing

    datastorage.unavailable_for = unavailable_for
    harness = make_harness(batch_size=1, max_retries=max_retries)
    harness.submit("wfe-stuck")
    others = [f"wfe-{index}" for index in range(3)]
    for name in others:
        harness.submit(name)
    await harness.resolved(*others)
    attempts_in_a_row = max_retries + 1
    assert posted[: attempts_in_a_row + 1] == ["wfe-stuck"] * attempts_in_a_row + ["wfe-0"]
    assert harness.delivery.pending_for("uid-wfe-stuck") == {SELECTED}
    failing.clear()
    await harness.resolved("wfe-stuck")
    assert datastorage.stored_types("wfe-stuck") == [SELECTED.value]
    assert harness.delivery.take_outcomes("uid-wfe-stuck") == ({SELECTED}, {})
    assert count(registry, "dropped") == 0


async def test_ambiguous_failure_after_storing_queries_and_does_not_resend(
    make_harness: Callable[..., Harness],
    datastorage: FakeDataStorage,
    registry: CollectorRegistry,
) -> None:
    harness = make_harness()
    datastorage.fail_next("timeout-after-store")
    harness.submit("wfe-a")
    harness.submit("wfe-b", FAILED)
    await harness.resolved("wfe-a", "wfe-b")
    assert datastorage.batches == [2]
    assert datastorage.stored_types("wfe-a") == [SELECTED.value]
    assert datastorage.stored_types("wfe-b") == [FAILED.value]
    assert datastorage.queries == 2
    assert count(registry, "deduplicated") == 2
    assert harness.delivery.take_outcomes("uid-wfe-b") == ({FAILED}, {})


async def test_ambiguous_failure_before_storing_resends_after_the_query(
    make_harness: Callable[..., Harness], datastorage: FakeDataStorage
) -> None:
    harness = make_harness()
    datastorage.fail_next("timeout-before-store", "timeout-before-store")
    harness.submit("wfe-a")
    await harness.resolved("wfe-a")
    # First POST and the first query time out; the second query answers; one POST stores.
    assert datastorage.stored_types("wfe-a") == [SELECTED.value]
    assert datastorage.queries == 1


async def test_the_timestamp_tells_a_predecessor_event_apart(
    make_harness: Callable[..., Harness], datastorage: FakeDataStorage
) -> None:
    # A predecessor WFE of the same name and correlation id stored its event an hour earlier:
    # only the timestamp tells the two apart.
    predecessor = make_event("wfe-a", at=AT - timedelta(hours=1))
    datastorage.stored.append(predecessor.model_dump(mode="json", exclude_none=True))
    harness = make_harness()
    harness.submit("wfe-a", verify_first=True)
    await harness.resolved("wfe-a")
    assert datastorage.stored_types("wfe-a") == [SELECTED.value, SELECTED.value]


async def test_verify_first_records_an_event_already_stored_without_sending(
    make_harness: Callable[..., Harness],
    datastorage: FakeDataStorage,
    registry: CollectorRegistry,
) -> None:
    for index in range(1500):  # more than one page of the same correlation id and type
        other = make_event(f"other-{index}")
        datastorage.stored.append(other.model_dump(mode="json", exclude_none=True))
    datastorage.stored.insert(0, make_event("wfe-a").model_dump(mode="json", exclude_none=True))
    harness = make_harness()
    harness.submit("wfe-a", verify_first=True)
    await harness.resolved("wfe-a")
    assert datastorage.batches == []
    assert datastorage.stored_types("wfe-a") == [SELECTED.value]
    assert count(registry, "deduplicated") == 1
    assert harness.delivery.take_outcomes("uid-wfe-a") == ({SELECTED}, {})


async def test_verify_first_sends_an_event_not_stored(
    make_harness: Callable[..., Harness], datastorage: FakeDataStorage
) -> None:
    harness = make_harness()
    harness.submit("wfe-a", verify_first=True)
    await harness.resolved("wfe-a")
    assert datastorage.queries == 1
    assert datastorage.stored_types("wfe-a") == [SELECTED.value]


async def test_a_poison_event_is_isolated_and_the_rest_delivered(
    make_harness: Callable[..., Harness],
    datastorage: FakeDataStorage,
    registry: CollectorRegistry,
) -> None:
    datastorage.poison = lambda event: (
        "event_data.workflow_id: forbidden value" if event["resource_id"] == "wfe-6" else None
    )
    harness = make_harness()
    names = [f"wfe-{index}" for index in range(10)]
    for name in names:
        harness.submit(name)
    await harness.resolved(*names)
    assert len(datastorage.stored) == 9
    assert datastorage.stored_types("wfe-6") == []
    acknowledged, rejected = harness.delivery.take_outcomes("uid-wfe-6")
    assert acknowledged == set()
    assert rejected == {SELECTED: "[0] event_data.workflow_id: forbidden value"}
    assert count(registry, "rejected") == 1
    assert count(registry, "delivered") == 9


async def test_an_event_older_than_seven_days_is_rejected_without_sending(
    make_harness: Callable[..., Harness], datastorage: FakeDataStorage
) -> None:
    harness = make_harness()
    harness.submit("wfe-old", at=NOW - timedelta(days=7, seconds=1))
    harness.submit("wfe-new", at=NOW - timedelta(days=6))
    await harness.resolved("wfe-old", "wfe-new")
    assert datastorage.batches == [1]
    assert harness.delivery.take_outcomes("uid-wfe-old") == (set(), {SELECTED: EXPIRED_DETAIL})


async def test_stop_flushes_the_buffer_at_once(
    make_harness: Callable[..., Harness], datastorage: FakeDataStorage
) -> None:
    harness = make_harness(flush_interval=60.0)
    harness.submit("wfe-a")
    assert await harness.delivery.stop(timeout=10) == []
    assert datastorage.stored_types("wfe-a") == [SELECTED.value]
    assert harness.submit("wfe-b") is False


async def test_a_stop_without_a_flush_sends_nothing_more(
    make_harness: Callable[..., Harness], datastorage: FakeDataStorage
) -> None:
    """A controller that lost its Lease: its successor delivers these from the WFE's status."""
    harness = make_harness(flush_interval=60.0)
    harness.submit("wfe-a")
    await asyncio.sleep(0)
    left = await harness.delivery.stop(timeout=0)
    assert left == [PendingEvent("uid-wfe-a", make_event("wfe-a"))]
    assert datastorage.batches == []


async def test_stop_gives_up_at_its_bound_and_returns_what_is_left(
    make_harness: Callable[..., Harness], datastorage: FakeDataStorage
) -> None:
    harness = make_harness(flush_interval=0.1)
    datastorage.fail_next(*[503] * 1000)
    harness.submit("wfe-a")
    await asyncio.sleep(1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    left = await harness.delivery.stop(timeout=10)
    assert loop.time() - started <= 10
    assert left == [PendingEvent("uid-wfe-a", make_event("wfe-a"))]


async def test_stop_retries_at_once_when_it_interrupts_a_backoff(
    make_harness: Callable[..., Harness], datastorage: FakeDataStorage
) -> None:
    harness = make_harness(flush_interval=0.1, initial_backoff=60.0, max_backoff=60.0)
    datastorage.fail_next(503)
    harness.submit("wfe-a")
    await asyncio.sleep(1)  # the first POST failed; the delivery now waits 30..60 s
    assert await harness.delivery.stop(timeout=10) == []
    assert datastorage.stored_types("wfe-a") == [SELECTED.value]


async def test_a_full_buffer_drops_and_recovers(
    make_harness: Callable[..., Harness],
    datastorage: FakeDataStorage,
    registry: CollectorRegistry,
) -> None:
    harness = make_harness(batch_size=2, buffer_size=2)
    datastorage.fail_next(503, 503)
    assert harness.submit("wfe-a") is True
    assert harness.submit("wfe-b") is True
    assert harness.submit("wfe-c") is False
    assert count(registry, "dropped") == 1
    assert harness.delivery.pending_for("uid-wfe-c") == set()
    await harness.resolved("wfe-a", "wfe-b")
    assert harness.submit("wfe-c") is True
    await harness.resolved("wfe-c")
    assert datastorage.stored_types("wfe-c") == [SELECTED.value]


async def test_a_pending_event_is_never_queued_twice(
    make_harness: Callable[..., Harness],
    datastorage: FakeDataStorage,
    registry: CollectorRegistry,
) -> None:
    harness = make_harness(flush_interval=5.0)
    assert harness.submit("wfe-a") is True
    assert harness.submit("wfe-a") is True
    assert harness.delivery.pending_for("uid-wfe-a") == {SELECTED}
    await harness.resolved("wfe-a")
    assert count(registry, "enqueued") == 1
    assert datastorage.stored_types("wfe-a") == [SELECTED.value]


async def test_a_resync_racing_the_status_write_is_answered_from_memory(
    make_harness: Callable[..., Harness], datastorage: FakeDataStorage
) -> None:
    harness = make_harness()
    harness.submit("wfe-a")
    await harness.resolved("wfe-a")
    assert harness.delivery.take_outcomes("uid-wfe-a") == ({SELECTED}, {})
    # The status write has not landed yet, so the next reconcile still sees the event as due.
    assert harness.submit("wfe-a") is True
    assert harness.delivery.take_outcomes("uid-wfe-a") == ({SELECTED}, {})
    await asyncio.sleep(5)
    assert datastorage.stored_types("wfe-a") == [SELECTED.value]


async def test_buffer_depth_and_batch_latency_are_exported(
    make_harness: Callable[..., Harness], registry: CollectorRegistry
) -> None:
    harness = make_harness(flush_interval=5.0)
    harness.submit("wfe-a")
    harness.submit("wfe-b")
    assert registry.get_sample_value("workflowexecution_audit_buffer_depth") == 2
    await harness.resolved("wfe-a", "wfe-b")
    assert registry.get_sample_value("workflowexecution_audit_buffer_depth") == 0
    latency = registry.get_sample_value(
        "workflowexecution_audit_batch_duration_seconds_count", {"outcome": "created"}
    )
    assert latency == 1


async def test_an_expired_event_already_stored_is_acknowledged_not_rejected(
    make_harness: Callable[..., Harness], datastorage: FakeDataStorage
) -> None:
    old = make_event("wfe-old", at=NOW - timedelta(days=8))
    datastorage.stored.append(old.model_dump(mode="json", exclude_none=True))
    harness = make_harness()
    harness.submit("wfe-old", at=NOW - timedelta(days=8), verify_first=True)
    await harness.resolved("wfe-old")
    assert harness.delivery.take_outcomes("uid-wfe-old") == ({SELECTED}, {})
    assert datastorage.batches == []


async def test_retry_after_stretches_the_backoff(
    make_harness: Callable[..., Harness], datastorage: FakeDataStorage
) -> None:
    harness = make_harness(initial_backoff=0.1, max_backoff=60.0)
    datastorage.fail_next(httpx.Response(429, headers={"Retry-After": "30"}))
    harness.submit("wfe-a")
    await asyncio.sleep(29)
    assert datastorage.stored == []
    await harness.resolved("wfe-a")
    assert datastorage.stored_types("wfe-a") == [SELECTED.value]


async def test_forget_drops_unread_outcomes(make_harness: Callable[..., Harness]) -> None:
    harness = make_harness()
    harness.submit("wfe-a")
    await harness.resolved("wfe-a")
    harness.delivery.forget("uid-wfe-a")
    assert harness.delivery.take_outcomes("uid-wfe-a") == (set(), {})


async def test_a_wfe_forgotten_while_its_events_are_pending_keeps_no_outcome(
    make_harness: Callable[..., Harness], datastorage: FakeDataStorage
) -> None:
    harness = make_harness()
    datastorage.fail_next(503)
    harness.submit("wfe-gone", SELECTED)
    harness.submit("wfe-gone", FAILED)
    harness.submit("wfe-kept", SELECTED)
    harness.delivery.forget("uid-wfe-gone")
    await harness.resolved("wfe-gone", "wfe-kept")
    assert sorted(datastorage.stored_types("wfe-gone")) == sorted([SELECTED.value, FAILED.value])
    assert harness.delivery.take_outcomes("uid-wfe-gone") == (set(), {})
    assert harness.woken == ["uid-wfe-kept"]
    assert harness.delivery.take_outcomes("uid-wfe-kept") == ({SELECTED}, {})


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 1001}, "batch_size"),
        ({"batch_size": 10, "buffer_size": 5}, "buffer_size"),
        ({"initial_backoff": 0}, "backoff"),
        ({"initial_backoff": 10, "max_backoff": 5}, "backoff"),
        ({"backoff_multiplier": 0.5}, "backoff_multiplier"),
        ({"max_retries": -1}, "max_retries"),
    ],
)
def test_invalid_config_is_refused_naming_the_field(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AuditDeliveryConfig(**config)
