"""One reconcile of one WFE: decide → act → decide again (bounded), then ONE status write,
Events (queued, posted in the background), audit hand-off, metrics and the requeue the decision
asked for."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import structlog

from kubernaut_wfe.adapters.audit_delivery import AuditDelivery
from kubernaut_wfe.adapters.discovery import ApiDiscovery
from kubernaut_wfe.adapters.kube import (
    ApiError,
    BadRequest,
    Invalid,
    KubeClient,
    NotFound,
)
from kubernaut_wfe.constants import Phase, RunKind
from kubernaut_wfe.core import tekton
from kubernaut_wfe.core.actions import (
    AddFinalizer,
    AwaitAudit,
    CreateRun,
    Decision,
    DeleteRun,
    ReadLock,
    RecordExecution,
    RemoveFinalizer,
    Requeue,
    conflict_delay,
)
from kubernaut_wfe.core.audit import correlation_id
from kubernaut_wfe.core.config import ControllerConfig
from kubernaut_wfe.core.decisions import decide, status_write_rejected
from kubernaut_wfe.core.engines import run_kind
from kubernaut_wfe.core.models import WorkflowExecution, WorkflowExecutionStatus
from kubernaut_wfe.core.naming import pipelinerun_name
from kubernaut_wfe.core.observation import UNREAD, Created, Observation
from kubernaut_wfe.core.pending import waiters_ahead
from kubernaut_wfe.core.phases import is_terminal
from kubernaut_wfe.core.pipelinerun import owned_by
from kubernaut_wfe.core.platform_events import cleanup_failed
from kubernaut_wfe.core.retry_budget import RetryBudget
from kubernaut_wfe.core.run_lookup import own_run_name
from kubernaut_wfe.core.targets import UnresolvedTarget, canonical_target, target_identity
from kubernaut_wfe.core.transitions import record_audit_outcomes
from kubernaut_wfe.core.validation import parse_wfe
from kubernaut_wfe.reconcile.audit_handoff import AuditHandoff
from kubernaut_wfe.reconcile.audit_spool import AuditSpool
from kubernaut_wfe.reconcile.cache import Document, ObjectCache, WfeKey
from kubernaut_wfe.reconcile.events import EVENT_FLUSH_TIMEOUT, EventPoster
from kubernaut_wfe.reconcile.memory import WfeMemory
from kubernaut_wfe.reconcile.metrics import ControllerMetrics
from kubernaut_wfe.reconcile.status import status_document
from kubernaut_wfe.reconcile.steps import ReadStep, StepRunner
from kubernaut_wfe.reconcile.target_locks import TargetLocks
from kubernaut_wfe.reconcile.writes import RereadNeeded, WfeWriter

MAX_ROUNDS = 9
"""Decide/act rounds per reconcile: the longest path (a new WFE's finalizer, a stale lock, the
ServiceAccount its catalog snapshot names, the create and its record) takes eight actions and
the decision that ends it."""
CONFLICT = 409

logger = structlog.get_logger("kubernaut_wfe.controller")

Schedule = Callable[[WfeKey, float], None]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Reconciler:
    """Reconciles WFEs from the cache; `schedule(key, delay)` re-queues a key."""

    def __init__(
        self,
        *,
        config: ControllerConfig,
        kube: KubeClient,
        cache: ObjectCache,
        metrics: ControllerMetrics,
        schedule: Schedule,
        discovery: ApiDiscovery,
        delivery: AuditDelivery | None = None,
        spool: AuditSpool | None = None,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        """`discovery`: the table of kinds the WFEs' targets are resolved with (loaded or not:
        a Pending WFE whose kind it lacks waits for a read). `spool`: where a deleted WFE's
        unacknowledged audit events are kept when its finalizer goes (without one they are
        only in memory)."""
        self._spool = spool
        self._config = config
        self._cache = cache
        self._discovery = discovery
        self._metrics = metrics
        self._schedule = schedule
        self._retry_budget = RetryBudget()
        self._memory = WfeMemory(delivery)
        self._audit = AuditHandoff(delivery, self._memory, config.audit.datastorage_contract)
        self._steps = StepRunner(kube, cache, self._memory)
        self._target_locks = TargetLocks()
        self._writer = WfeWriter(kube, cache)
        self._events = EventPoster(kube, dropped=metrics.events_dropped)
        self._now = now

    def is_quiet(self, uid: str, resource_version: str | None) -> bool:
        """Whether this state of the WFE was already decided to need nothing more, so that a
        watch event bringing it (or an older one) again needs no reconcile."""
        return self._memory.is_quiet(uid, resource_version)

    def is_settled(self, uid: str) -> bool:
        """Whether the WFE needs no periodic re-check (terminal, lock released, audit done)."""
        return self._memory.is_settled(uid)

    def forget(self, uid: str) -> None:
        """Drop everything remembered of a deleted WFE (`WfeMemory.forget`)."""
        self._memory.forget(uid)

    async def stop(self, grace: float = EVENT_FLUSH_TIMEOUT) -> None:
        """Post the queued Events within `grace` seconds (call after the workers stopped)."""
        await self._events.stop(grace)

    async def reconcile(self, key: WfeKey) -> None:
        """Move this WFE's state machine forward as far as it goes now."""
        view = self._cache.wfe_view(key)
        if view is None:
            return
        raw, wfe = view
        if (facts := self._memory.known(wfe.metadata.uid)) is not None:
            if facts.given_up:
                return
            facts.settled = False
        log = self._bind(logger, wfe)
        if not await self._kind_known_or_final(wfe):
            delay = self._discovery.retry_after().total_seconds()
            log.info("the target's kind is not in API discovery yet; reading it again", after=delay)
            self._schedule(key, delay)
            return
        try:
            await self._reconcile(key, raw, wfe, log)
        except RereadNeeded:
            facts = self._memory.of(wfe.metadata.uid)
            facts.conflicts += 1
            turn = self._retry_budget.reserve(self._now())
            self._schedule(key, max(conflict_delay(facts.conflicts), turn).total_seconds())
        except NotFound:
            log.info("workflowexecution gone")
        else:
            if (facts := self._memory.known(wfe.metadata.uid)) is not None:
                facts.conflicts = 0

    async def _reconcile(
        self, key: WfeKey, raw: Document, wfe: WorkflowExecution, log: Any
    ) -> None:
        async with contextlib.AsyncExitStack() as held:
            await self._decide_and_act(key, raw, wfe, log, held)

    async def _decide_and_act(
        self,
        key: WfeKey,
        raw: Document,
        wfe: WorkflowExecution,
        log: Any,
        held: contextlib.AsyncExitStack,
    ) -> None:
        """Decide and act until nothing more is asked; from its first read of the lock, the
        reconcile holds the lock's name (`TargetLocks`) until `held` closes."""
        holding = False
        obs = self._first_observation(wfe)
        decision = Decision()
        for _ in range(MAX_ROUNDS):
            decision = decide(raw, obs, self._config, self._now(), parsed=wfe)
            for note in decision.notes:
                log.info(note)
            step = next((a for a in decision.actions if not isinstance(a, Requeue)), None)
            if step is None:
                break
            if isinstance(step, AddFinalizer | RecordExecution):
                raw = await self._write_metadata(raw, step)
                wfe = parse_wfe(raw)
                continue
            if isinstance(step, AwaitAudit):
                wait = self._audit.start_wait(wfe, self._now())
                obs = dataclasses.replace(obs, audit_wait=wait)
                continue
            if isinstance(step, RemoveFinalizer):
                await self._finish_deletion(raw, decision, step, log)
                return
            assert isinstance(step, ReadStep)
            if isinstance(step, ReadLock) and not holding:
                await held.enter_async_context(self._target_locks.hold(step.name))
                holding = True
            try:
                obs = await self._steps.run(step, obs, wfe.metadata.uid)
            except ApiError as error:
                if isinstance(step, DeleteRun) and wfe.metadata.deletion_timestamp is not None:
                    failed = cleanup_failed(step.namespace, step.name, f"HTTP {error.status}")
                    self._events.post(raw, (failed,))
                raise
            if isinstance(step, CreateRun) and self._created(obs):
                self._metrics.creations.inc()
            if isinstance(step, DeleteRun):
                self._note_release(wfe, obs)
            if obs.delete is not None and obs.delete.status == CONFLICT:
                # The run changed between our read and the DELETE (Tekton writes its status
                # often): read it again and decide again, as for any 409.
                obs = dataclasses.replace(obs, delete=None, run=UNREAD)
        else:
            log.warning("reconcile did not settle within its rounds; trying again shortly")
            self._schedule(key, 1.0)
            return
        if wfe.metadata.deletion_timestamp is not None:
            self._wait_while_deleted(key, raw, wfe, decision)
            return
        written = await self._write_status(raw, wfe, decision, log)
        self._after_write(key, wfe, written, decision, log)
        if written is None:
            self._memory.of(wfe.metadata.uid).quiet_version = wfe.metadata.resource_version or ""
        else:
            self._decide_again(key)

    async def _write_metadata(
        self, raw: Document, step: AddFinalizer | RecordExecution
    ) -> dict[str, Any]:
        """The WFE after our finalizer or its execution record was written."""
        if isinstance(step, AddFinalizer):
            return await self._writer.set_finalizer(raw, add=True)
        return await self._writer.set_annotations(raw, step.annotations)

    def _decide_again(self, key: WfeKey) -> None:
        """Decide once more on the state just written, as the next reconcile would: when that
        needs nothing, the state is quiet and the watch echoing it needs no reconcile; else
        reconcile again now (e.g. a run adopted after it had already finished)."""
        view = self._cache.wfe_view(key)
        if view is None:
            return
        raw, wfe = view
        decision = decide(raw, self._first_observation(wfe), self._config, self._now(), parsed=wfe)
        steps = [action for action in decision.actions if not isinstance(action, Requeue)]
        if steps or _changes(decision.status, wfe):
            self._schedule(key, 0)
            return
        self._memory.of(wfe.metadata.uid).quiet_version = wfe.metadata.resource_version or ""
        self._requeue(key, decision)

    def _requeue(self, key: WfeKey, decision: Decision) -> None:
        for action in decision.actions:
            if isinstance(action, Requeue):
                self._schedule(key, action.after.total_seconds())

    async def _kind_known_or_final(self, wfe: WorkflowExecution) -> bool:
        """Whether the WFE can be decided on: its target's kind is in the table of kinds (read
        again if it lacks it and a read is allowed), or the table was read after the WFE was
        created, so that an unknown kind is final (a Pending WFE then fails
        `ConfigurationError`). False: no such read is allowed yet."""
        pending = wfe.status.phase in (None, Phase.PENDING)
        if not pending or wfe.metadata.deletion_timestamp is not None:
            return True  # its run is known by name; the kind no longer matters

        def kind_unknown() -> bool:
            resolved = canonical_target(wfe.spec.target_resource, self._discovery.kinds)
            return isinstance(resolved, UnresolvedTarget) and resolved.kind_unknown

        if not kind_unknown():
            return True
        final = await self._discovery.table_for(wfe.metadata.creation_timestamp) is not None
        return final or not kind_unknown()  # a read just made may know it (a CRD installed)

    def _created(self, obs: Observation) -> bool:
        return isinstance(obs.create, Created)

    def _note_release(self, wfe: WorkflowExecution, obs: Observation) -> None:
        """Remember that a finished or deleted WFE's own run is gone (DELETE answered 2xx or
        404), so its later reconciles need not read it again."""
        finished = is_terminal(wfe.status.phase) or wfe.metadata.deletion_timestamp is not None
        if finished and obs.delete is not None and (obs.delete.deleted or obs.delete.status == 404):
            self._memory.of(wfe.metadata.uid).run_released = True

    def _first_observation(self, wfe: WorkflowExecution) -> Observation:
        """What the watches (and our own DELETE answers) already told us, so that neither a
        Running reconcile nor the lock release needs a GET. A Pending WFE always reads the run
        (get-before-create); a stale cached run only costs a 409 on DELETE and a re-read. Every
        observation carries the target resolved with the table of kinds, a deleted WFE's the
        wait for its audit events."""
        observed = self._observed(wfe)
        target = canonical_target(wfe.spec.target_resource, self._discovery.kinds)
        deleting = wfe.metadata.deletion_timestamp is not None
        audit_wait = self._audit.wait_of(wfe.metadata.uid) if deleting else None
        return dataclasses.replace(observed, target=target, audit_wait=audit_wait)

    def _observed(self, wfe: WorkflowExecution) -> Observation:
        status = wfe.status
        deleting = wfe.metadata.deletion_timestamp is not None
        if not deleting and status.phase in (None, Phase.PENDING):
            return Observation(waiting_ahead=self._waiting_ahead(wfe))
        facts = self._memory.known(wfe.metadata.uid)
        if facts is not None and facts.run_released:
            return Observation(run=None)
        name = own_run_name(wfe)
        kind = run_kind(wfe.spec)
        run = self._cache.run(name, kind) if name is not None else None
        if run is None:
            # A finished WFE whose run a complete cache lacks was released before: no GET
            # (this is what spares a restart one read per settled WFE).
            gone = self._cache.runs_complete and not deleting and status.phase != Phase.RUNNING
            return Observation(run=None) if gone else Observation()
        if deleting or status.phase != Phase.RUNNING:
            # Only our own live run is trusted here: anything else is read from the API.
            live = owned_by(run, wfe) and tekton.deletion_timestamp(run) is None
            return Observation(run=run) if live else Observation()
        if kind == RunKind.JOB:
            job = tekton.name_of(run)
            return Observation(
                run=run, pods=self._cache.pods(job), run_events=self._cache.run_events(job)
            )
        taskruns = None if tekton.is_finished(run) else self._cache.taskruns(tekton.name_of(run))
        return Observation(run=run, taskruns=taskruns)

    def _waiting_ahead(self, wfe: WorkflowExecution) -> tuple[str, ...]:
        """WFEs on the same object (any spelling of its kind) that wait for its cooldown and
        come before this one."""
        candidates = self._cache.waiting_on_target(wfe.spec.target_resource)
        return waiters_ahead(wfe, (other for _, other in candidates), self._discovery.kinds)

    def _bind(self, base: Any, wfe: WorkflowExecution) -> Any:
        """`base` with the WFE's fields; `pipelinerun` is its run, else its lock's name."""
        ref = wfe.status.pipeline_run_ref
        target = wfe.spec.target_resource
        return base.bind(
            wfe=wfe.metadata.name,
            namespace=wfe.metadata.namespace,
            target=target,
            pipelinerun=(
                ref.name
                if ref is not None
                else pipelinerun_name(target_identity(target, self._discovery.kinds))
            ),
            phase=wfe.status.phase or "",
            correlation_id=correlation_id(wfe),
        )

    # --- writes ----------------------------------------------------------------------------

    async def _write_status(
        self, raw: Document, wfe: WorkflowExecution, decision: Decision, log: Any
    ) -> dict[str, Any] | None:
        """The one status write of this reconcile (transition and/or audit bookkeeping).

        Returns the written object, or None when nothing needed writing.
        """
        status = decision.status
        acknowledged, rejected = self._audit.take_outcomes(wfe.metadata.uid)
        if acknowledged or rejected:
            base = status or wfe.status
            status = record_audit_outcomes(wfe, base, acknowledged, rejected, self._now())
            for event_type, detail in rejected.items():
                log.error(
                    "audit event rejected by DataStorage", event_type=event_type, detail=detail
                )
        if status is None or not _changes(status, wfe):
            return None
        try:
            return await self._writer.patch_status(raw, wfe, status)
        except (Invalid, BadRequest) as error:
            log.error("status write rejected by the API server", error=str(error))
            await self._write_rejected(raw, wfe, error, log)
            return None

    async def _write_rejected(
        self, raw: Mapping[str, Any], wfe: WorkflowExecution, error: ApiError, log: Any
    ) -> None:
        """Write the minimal Failed status once; whatever happens, stop retrying this WFE."""
        self._metrics.rejected_status_writes.inc()
        self._memory.of(wfe.metadata.uid).given_up = True
        fallback = status_write_rejected(wfe, error.message or str(error), self._now())
        assert fallback.status is not None
        try:
            written = await self._writer.patch_status(raw, wfe, fallback.status)
        except (ApiError, RereadNeeded) as second:
            log.error("the fallback Failed status was rejected too; giving up", error=str(second))
            return
        self._events.post(written, fallback.events)
        if fallback.outcome is not None:
            self._metrics.record_outcome(fallback.outcome)

    def _after_write(
        self,
        key: WfeKey,
        before: WorkflowExecution,
        written: Document | None,
        decision: Decision,
        log: Any,
    ) -> None:
        view = self._cache.wfe_view(key)
        if written is not None and (view is None or view[0] is not written):
            view = written, parse_wfe(written)
        if view is None:
            return
        current_raw, current = view
        if decision.status is None:
            self._events.post(current_raw, decision.events)
        elif written is not None:
            log = self._bind(logger, current)
            log.info("status written", phase=current.status.phase)
            self._events.post(written, decision.events)
            if decision.outcome is not None:
                self._metrics.record_outcome(decision.outcome)
        owed = self._audit.hand_over(before, current)
        delays = [a.after.total_seconds() for a in decision.actions if isinstance(a, Requeue)]
        for delay in delays:
            self._schedule(key, delay)
        if is_terminal(current.status.phase) and not delays and not owed:
            self._memory.of(current.metadata.uid).settled = True

    # --- deletion --------------------------------------------------------------------------

    def _wait_while_deleted(
        self, key: WfeKey, raw: Document, wfe: WorkflowExecution, decision: Decision
    ) -> None:
        """A deleted WFE's status is no longer written: it waits for its run's deletion or its
        audit events through the requeue the core asked for, never in a worker."""
        self._events.post(raw, decision.events)
        self._memory.of(wfe.metadata.uid).quiet_version = wfe.metadata.resource_version or ""
        self._requeue(key, decision)

    async def _finish_deletion(
        self, raw: Document, decision: Decision, step: RemoveFinalizer, log: Any
    ) -> None:
        if step.unacknowledged and self._spool is not None:
            # Parked first: if that fails the finalizer stays, and the reconcile is retried.
            wfe = parse_wfe(raw)
            await self._spool.park(wfe, self._audit.requests_for(wfe, step.unacknowledged))
        elif step.unacknowledged:
            log.warning(
                "removing the finalizer before DataStorage acknowledged",
                pending=list(step.unacknowledged),
            )
        self._events.post(raw, decision.events)
        with contextlib.suppress(NotFound):
            await self._writer.set_finalizer(raw, add=False)
        log.info("finalizer removed")


def _changes(status: WorkflowExecutionStatus | None, wfe: WorkflowExecution) -> bool:
    """Whether writing `status` would change what the WFE shows."""
    return status is not None and status_document(status, wfe) != status_document(wfe.status, wfe)
