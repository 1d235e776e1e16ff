"""Kubernetes Events posted off the reconcile path: a bounded queue drained by one task, so a
status transition never waits on an Event POST. Events are best effort (as in client-go's
recorder): when the queue is full, new ones are dropped and counted."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import structlog
from prometheus_client import Counter

from kubernaut_wfe.adapters.kube import ApiError
from kubernaut_wfe.core.actions import KubeEvent

logger = structlog.get_logger("kubernaut_wfe.controller")

EVENT_QUEUE_CAPACITY = 2000
EVENT_FLUSH_TIMEOUT = 5.0
"""Seconds `stop` waits for queued Events to be posted before dropping the rest."""

Queued = tuple[Mapping[str, Any], KubeEvent]


class EventCreator(Protocol):
    """What posting needs of the API client (`KubeClient.create_event`)."""

    async def create_event(
        self, involved: Mapping[str, Any], *, type: str, reason: str, message: str
    ) -> Any:
        """POST one Event about `involved`."""


def involved_reference(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of `obj` an Event refers to (so the queue keeps no whole object alive)."""
    meta = obj.get("metadata") or {}
    return {
        "apiVersion": obj.get("apiVersion", ""),
        "kind": obj.get("kind", ""),
        "metadata": {
            field: meta[field]
            for field in ("name", "namespace", "uid", "resourceVersion")
            if meta.get(field)
        },
    }


class EventPoster:
    """Queues Events and posts them one after another in a background task (started lazily
    on the first Event, in the running loop)."""

    def __init__(
        self,
        kube: EventCreator,
        *,
        dropped: Counter | None = None,
        capacity: int = EVENT_QUEUE_CAPACITY,
    ) -> None:
        self._kube = kube
        self._dropped = dropped
        self._queue: asyncio.Queue[Queued] = asyncio.Queue(maxsize=capacity)
        self._task: asyncio.Task[None] | None = None
        self._stopped = False

    def post(self, involved: Mapping[str, Any], events: Iterable[KubeEvent]) -> None:
        """Queue Events about `involved`; never waits. Dropped (and counted) when full."""
        reference: dict[str, Any] | None = None
        for event in events:
            if reference is None:
                reference = involved_reference(involved)
            if self._stopped:
                self._drop(event, "the controller is stopping")
                continue
            try:
                self._queue.put_nowait((reference, event))
            except asyncio.QueueFull:
                self._drop(event, "the Event queue is full")
                continue
            if self._task is None:
                self._task = asyncio.get_running_loop().create_task(
                    self._drain(), name="kube-events"
                )

    def _drop(self, event: KubeEvent, why: str) -> None:
        if self._dropped is not None:
            self._dropped.inc()
        logger.warning("Event dropped", reason=event.reason, why=why)

    async def join(self) -> None:
        """Wait until every queued Event has been posted (or has failed)."""
        await self._queue.join()

    async def stop(self, grace: float = EVENT_FLUSH_TIMEOUT) -> None:
        """Take no more Events, post the queued ones within `grace` s, drop the rest."""
        self._stopped = True
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), grace)
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._task = None
        while not self._queue.empty():
            _, event = self._queue.get_nowait()
            self._queue.task_done()
            self._drop(event, "not posted before the stop deadline")

    async def _drain(self) -> None:
        while True:
            involved, event = await self._queue.get()
            try:
                await self._kube.create_event(
                    involved,
                    type=event.type.value,
                    reason=event.reason.value,
                    message=event.message,
                )
            except ApiError as error:
                logger.warning("could not post an Event", reason=event.reason, error=str(error))
            except Exception as error:
                logger.warning("could not post an Event", reason=event.reason, error=repr(error))
            finally:
                self._queue.task_done()
