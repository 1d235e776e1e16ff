"""Delivers audit events to DataStorage: nothing lost, nothing duplicated, nothing blocked.

The reconcile loop hands due events to `submit` (never blocking, never failing the reconcile);
a background task sends them in batches, retries transient failures with backoff (a batch
`max_retries` times in a row, then it goes to the back of the queue: never dropped), asks
the query API before re-sending anything that may already be stored, isolates events the server
rejects by bisecting the batch, and reports each event's outcome back through `take_outcomes`.
It never writes the WorkflowExecution: the reconcile loop records the outcomes in its status.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

from prometheus_client import CollectorRegistry

from kubernaut_wfe.adapters.audit_config import AuditDeliveryConfig, backoff_delay
from kubernaut_wfe.adapters.audit_lookup import AuditApi, event_key, find_stored
from kubernaut_wfe.adapters.audit_metrics import AuditDeliveryMetrics, AuditResult, BatchOutcome
from kubernaut_wfe.constants import AuditEventType
from kubernaut_wfe.datastorage.client import AuditAmbiguous, AuditRejected, AuditUnavailable
from kubernaut_wfe.datastorage.models import AuditEventRequest

logger = logging.getLogger(__name__)

EXPIRED_DETAIL = "event_timestamp is older than DataStorage's 7-day window; not sent"


class PendingEvent(NamedTuple):
    """An event accepted by `submit` and not yet resolved."""

    wfe_uid: str
    event: AuditEventRequest


@dataclass
class _Item:
    wfe_uid: str
    event: AuditEventRequest
    needs_query: bool
    resolved: bool = False

    @property
    def key(self) -> tuple[str, AuditEventType]:
        return self.wfe_uid, AuditEventType(self.event.event_type)


@dataclass
class _Outcomes:
    acknowledged: set[AuditEventType] = field(default_factory=set)
    rejected: dict[AuditEventType, str] = field(default_factory=dict)


class AuditDelivery:
    """Buffers, batches and delivers audit events; see the module docstring."""

    def __init__(
        self,
        api: AuditApi,
        *,
        registry: CollectorRegistry,
        config: AuditDeliveryConfig | None = None,
        on_outcome: Callable[[str], None] | None = None,
        on_settled: Callable[[str], None] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._api = api
        self._config = config or AuditDeliveryConfig()
        self._on_outcome = on_outcome
        self._on_settled = on_settled
        self._now = now
        self._rng = rng
        self._metrics = AuditDeliveryMetrics(registry)
        self._pending: dict[tuple[str, AuditEventType], _Item] = {}
        self._pending_by_uid: dict[str, set[AuditEventType]] = {}
        self._queue: deque[_Item] = deque()
        self._outcomes: dict[str, _Outcomes] = {}
        self._forgotten: set[str] = set()
        """WFEs gone while events of theirs were pending: nobody reads those events' outcomes."""
        self._resolved: OrderedDict[tuple[str, AuditEventType], str | None] = OrderedDict()
        self._failures = 0
        """Failed attempts in a row, whatever the batch: the backoff grows through an outage."""
        self._wakeup = asyncio.Event()
        self._stopping = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the background sender in the running event loop."""
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(
                self._run(), name="audit-delivery"
            )

    def submit(self, wfe_uid: str, event: AuditEventRequest, *, verify_first: bool) -> bool:
        """Accept a due event for delivery; False when it was dropped (buffer full or stopped).

        An event already pending (or resolved and not yet recorded) is not queued again.
        `verify_first` asks the query API before sending: for events that may have been stored
        before a restart.
        """
        item = _Item(wfe_uid, event, needs_query=verify_first)
        if item.key in self._pending:
            return True
        if item.key in self._resolved:
            self._report_again(item)
            return True
        if self._stopping.is_set() or len(self._pending) >= self._config.buffer_size:
            self._metrics.count(AuditResult.DROPPED)
            return False
        self._pending[item.key] = item
        self._pending_by_uid.setdefault(wfe_uid, set()).add(item.key[1])
        self._queue.append(item)
        self._metrics.count(AuditResult.ENQUEUED)
        self._metrics.buffer_depth.set(len(self._pending))
        if len(self._queue) == 1 or len(self._queue) >= self._config.batch_size:
            self._wakeup.set()
        return True

    def pending_for(self, wfe_uid: str) -> set[AuditEventType]:
        """The event types of `wfe_uid` accepted and not yet resolved."""
        return set(self._pending_by_uid.get(wfe_uid, ()))

    def take_outcomes(self, wfe_uid: str) -> tuple[set[AuditEventType], dict[AuditEventType, str]]:
        """Acknowledged event types and rejected ones (with the server's detail); forgets them."""
        outcomes = self._outcomes.pop(wfe_uid, None) or _Outcomes()
        return outcomes.acknowledged, outcomes.rejected

    def forget(self, wfe_uid: str) -> None:
        """Drop the unread outcomes of a WFE that is gone; its pending events are still sent,
        their outcomes are not kept."""
        self._outcomes.pop(wfe_uid, None)
        if wfe_uid in self._pending_by_uid:
            self._forgotten.add(wfe_uid)

    async def stop(self, timeout: float | None = None) -> list[PendingEvent]:  # noqa: ASYNC109
        """Flush what is buffered within `timeout` seconds; return what was left undelivered.
        With a `timeout` of 0 nothing more is sent: the worker is cancelled before it is woken
        (a controller that lost its Lease must not deliver what its successor delivers)."""
        bound = self._config.stop_timeout if timeout is None else timeout
        if bound <= 0 and self._worker is not None:
            self._worker.cancel()
        self._stopping.set()
        self._wakeup.set()
        if self._worker is not None:
            done, _ = await asyncio.wait({self._worker}, timeout=bound)
            if not done:
                self._worker.cancel()
                await asyncio.gather(self._worker, return_exceptions=True)
        left = [PendingEvent(item.wfe_uid, item.event) for item in self._pending.values()]
        if left:
            logger.warning("audit delivery stopped with %d events undelivered", len(left))
        return left

    async def _run(self) -> None:
        while True:
            batch = await self._next_batch()
            if not batch:
                return
            await self._deliver(batch)

    async def _next_batch(self) -> list[_Item]:
        while not self._queue:
            if self._stopping.is_set():
                return []
            self._wakeup.clear()
            await self._wakeup.wait()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._config.flush_interval
        while len(self._queue) < self._config.batch_size and not self._stopping.is_set():
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), remaining)
            except TimeoutError:
                break
        size = min(self._config.batch_size, len(self._queue))
        return [self._queue.popleft() for _ in range(size)]

    async def _deliver(self, batch: list[_Item]) -> None:
        """Resolve every item of `batch` (acknowledged or rejected), retrying it `max_retries`
        times in a row; then what is left goes to the back of the queue, never dropped."""
        attempts = 0
        while unresolved := [item for item in batch if not item.resolved]:
            try:
                await self._query_doubtful(unresolved)
                self._expire([item for item in unresolved if not item.resolved])
                await self._post([item for item in unresolved if not item.resolved])
                self._failures = 0
                return
            except AuditAmbiguous as error:
                for item in unresolved:
                    item.needs_query = not item.resolved
                retry_after = None
                logger.warning("audit batch outcome unknown, will query first: %s", error)
            except (AuditUnavailable, AuditRejected) as error:
                # AuditRejected here can only come from the query API: retry, never lose events.
                retry_after = error.retry_after if isinstance(error, AuditUnavailable) else None
                logger.warning("audit delivery failed, will retry: %s", error)
            except Exception:
                # A bug must not kill the sender and strand every later event: treat the batch's
                # fate as unknown, so that nothing is lost and nothing is sent twice.
                for item in unresolved:
                    item.needs_query = not item.resolved
                retry_after = None
                logger.exception("audit delivery failed unexpectedly, will query and retry")
            attempts += 1
            self._failures += 1
            still = [item for item in batch if not item.resolved]
            self._metrics.count(AuditResult.RETRIED, len(still))
            exhausted = attempts > self._config.max_retries
            others_waiting = bool(self._queue)
            if exhausted:
                logger.warning(
                    "audit batch failed %d times in a row; %d events go back to the queue",
                    attempts,
                    len(still),
                )
                self._queue.extend(still)
                if others_waiting:
                    return
            delay = backoff_delay(self._failures, self._config, self._rng)
            if retry_after is not None:
                delay = max(delay, min(retry_after, self._config.max_backoff))
            await self._pause(delay)
            if exhausted:
                return

    async def _query_doubtful(self, items: list[_Item]) -> None:
        doubtful = [item for item in items if item.needs_query]
        if not doubtful:
            return
        stored = await find_stored(self._api, (item.event for item in doubtful))
        for item in doubtful:
            item.needs_query = False
            if event_key(item.event) in stored:
                self._metrics.count(AuditResult.DEDUPLICATED)
                self._resolve(item, rejected=None)

    def _expire(self, items: list[_Item]) -> None:
        oldest_allowed = self._now() - self._config.max_event_age
        for item in items:
            if item.event.event_timestamp < oldest_allowed:
                logger.error("audit event %s of %s rejected: too old", *item.key[::-1])
                self._metrics.count(AuditResult.REJECTED)
                self._resolve(item, rejected=EXPIRED_DETAIL)

    async def _post(self, items: Sequence[_Item]) -> None:
        """POST `items`; on a 400, bisect until each rejected event stands alone."""
        if not items:
            return
        loop = asyncio.get_running_loop()
        started = loop.time()
        outcome = BatchOutcome.CREATED
        try:
            await self._api.create_audit_events_batch([item.event for item in items])
        except AuditRejected as error:
            outcome = BatchOutcome.REJECTED
            if len(items) == 1:
                logger.error("audit event %s of %s rejected: %s", *items[0].key[::-1], error.detail)
                self._metrics.count(AuditResult.REJECTED)
                self._resolve(items[0], rejected=error.detail)
                return
        except AuditAmbiguous:
            outcome = BatchOutcome.AMBIGUOUS
            raise
        except AuditUnavailable:
            outcome = BatchOutcome.UNAVAILABLE
            raise
        finally:
            self._metrics.batch_duration.labels(outcome=outcome.value).observe(
                loop.time() - started
            )
        if outcome is BatchOutcome.REJECTED:
            middle = len(items) // 2
            await self._post(items[:middle])
            await self._post(items[middle:])
            return
        self._metrics.count(AuditResult.DELIVERED, len(items))
        for item in items:
            self._resolve(item, rejected=None)

    async def _pause(self, delay: float) -> None:
        if self._stopping.is_set():
            await asyncio.sleep(delay)
            return
        # A stop cuts the wait short once, so the shutdown flush gets an attempt in its bound.
        # asyncio.wait, not wait_for: on 3.11 wait_for loses a cancel that lands together with
        # the stop's own wake-up, and the cancelled worker then sleeps out its backoff.
        stopped = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({stopped}, timeout=delay)
        finally:
            stopped.cancel()

    def _resolve(self, item: _Item, *, rejected: str | None) -> None:
        item.resolved = True
        self._pending.pop(item.key, None)
        types = self._pending_by_uid.get(item.wfe_uid, set())
        types.discard(item.key[1])
        forgotten = item.wfe_uid in self._forgotten
        if not types:
            self._pending_by_uid.pop(item.wfe_uid, None)
            self._forgotten.discard(item.wfe_uid)
        self._metrics.buffer_depth.set(len(self._pending))
        self._remember(item.key, rejected)
        if not forgotten:
            self._record(item.wfe_uid, AuditEventType(item.event.event_type), rejected)
        if not types and self._on_settled is not None:
            try:
                self._on_settled(item.wfe_uid)
            except Exception:
                logger.exception("audit settled callback failed for %s", item.wfe_uid)

    def _report_again(self, item: _Item) -> None:
        self._record(item.wfe_uid, item.key[1], self._resolved[item.key])

    def _remember(self, key: tuple[str, AuditEventType], rejected: str | None) -> None:
        self._resolved[key] = rejected
        self._resolved.move_to_end(key)
        while len(self._resolved) > self._config.remembered_outcomes:
            self._resolved.popitem(last=False)

    def _record(self, wfe_uid: str, event_type: AuditEventType, rejected: str | None) -> None:
        outcomes = self._outcomes.setdefault(wfe_uid, _Outcomes())
        if rejected is None:
            outcomes.acknowledged.add(event_type)
        else:
            outcomes.rejected[event_type] = rejected
        if self._on_outcome is not None:
            try:
                self._on_outcome(wfe_uid)
            except Exception:
                logger.exception("audit outcome callback failed for %s", wfe_uid)
