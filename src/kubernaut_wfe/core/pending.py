"""The Pending phase (spec §3.2): validation, then get-before-create on the per-target lock."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from kubernaut_wfe.constants import (
    Annotation,
    ConditionReason,
    ConditionStatus,
    ConditionType,
    EventReason,
    EventType,
    FailureReason,
    Phase,
    RunKind,
)
from kubernaut_wfe.core import tekton
from kubernaut_wfe.core.actions import (
    CreateRun,
    Decision,
    KubeEvent,
    ReadHolder,
    RecordExecution,
    Requeue,
    backoff,
    delete_run_as_read,
    kind_of_run,
)
from kubernaut_wfe.core.config import ControllerConfig
from kubernaut_wfe.core.deadline import deadline_passed
from kubernaut_wfe.core.endings import create_refused_reason, fail_before_run
from kubernaut_wfe.core.engines import refusal as engine_refusal
from kubernaut_wfe.core.engines import run_kind
from kubernaut_wfe.core.job import build_job
from kubernaut_wfe.core.job_running import job_summary, observed_progress
from kubernaut_wfe.core.models import WorkflowExecution
from kubernaut_wfe.core.observation import (
    UNREAD,
    AlreadyExists,
    Created,
    CreateRejected,
    Observation,
)
from kubernaut_wfe.core.parameters import run_parameters, stripped_message
from kubernaut_wfe.core.phases import is_terminal
from kubernaut_wfe.core.pipelinerun import build_pipelinerun, holder_of, owned_by
from kubernaut_wfe.core.platform_events import (
    cooldown_active,
    run_started_events,
    validation_failed,
)
from kubernaut_wfe.core.record import is_recorded_run, read_record, record_of_run
from kubernaut_wfe.core.run_identity import decide_run_identity
from kubernaut_wfe.core.run_lookup import lock_target_of, read_lock, run_ref, run_title
from kubernaut_wfe.core.runstatus import run_summary
from kubernaut_wfe.core.targets import KindTable, UnresolvedTarget, target_identity
from kubernaut_wfe.core.transitions import (
    to_running,
    to_waiting,
)
from kubernaut_wfe.core.validation import configured_problems, parse_wfe


def decide_create_rejected(
    wfe: WorkflowExecution, rejected: CreateRejected, config: ControllerConfig, now: datetime
) -> Decision:
    """Retry transient refusals a bounded number of times; fail on the rest."""
    failure = rejected.failure
    if failure.transient and rejected.attempt < config.execution.max_create_attempts:
        return Decision(
            actions=(Requeue(backoff(rejected.attempt), f"retry {run_kind(wfe.spec)} creation"),),
            notes=(f"create attempt {rejected.attempt} failed ({failure.status}); retrying",),
        )
    reason, condition_reason = create_refused_reason(failure)
    message = (
        f"{run_kind(wfe.spec)} creation failed after {rejected.attempt} attempt(s)"
        f" (HTTP {failure.status}): {failure.message}"
    )
    return fail_before_run(wfe, reason, message, now, created_reason=condition_reason)


# --- Pending ---------------------------------------------------------------------------------


def start_running(
    wfe: WorkflowExecution, run: tekton.Document, obs: Observation, now: datetime, *, adopted: bool
) -> Decision:
    """Pending → Running on the created or adopted run."""
    if kind_of_run(run) == RunKind.JOB:
        summary = job_summary(observed_progress(run, obs))
    else:
        summary = run_summary(run, obs.taskruns or ())
    status = to_running(wfe, run, summary, now, adopted=adopted)
    events = run_started_events(wfe, run_ref(run), adopted=adopted, kind=kind_of_run(run))
    notes: tuple[str, ...] = ()
    if stripped := run_parameters(wfe.spec).stripped:
        message = stripped_message(stripped)
        events.append(KubeEvent(EventReason.PARAMETERS_STRIPPED, EventType.NORMAL, message))
        notes = (message,)
    return Decision(status=status, events=tuple(events), notes=notes)


def start_recorded(
    wfe: WorkflowExecution, run: tekton.Document, obs: Observation, now: datetime, *, adopted: bool
) -> Decision:
    """Record the run on the WFE (`core.record`), then Pending → Running on it: the record is
    in place before any status says a run exists, so no status write can make it run twice."""
    if (record := record_of_run(run)).uid and record != read_record(wfe):
        return Decision(actions=(RecordExecution(record.annotation()),))
    return start_running(wfe, run, obs, now, adopted=adopted)


def decide_run_absent(
    wfe: WorkflowExecution, obs: Observation, config: ControllerConfig, now: datetime
) -> Decision:
    """The target is free: create the run, unless an older waiter should go first, the WFE's
    deadline has passed or its ServiceAccount is not there (`core.run_identity`)."""
    if obs.waiting_ahead:
        return Decision(
            actions=(Requeue(config.execution.deleting_run_backoff, "older waiter goes first"),),
            notes=(f"waiting behind {', '.join(obs.waiting_ahead)}",),
        )
    if (late := deadline_passed(wfe.spec, now)) is not None:
        return fail_before_run(wfe, FailureReason.DEADLINE_EXCEEDED, late, now)
    if (identity := decide_run_identity(wfe, obs, config, now)) is not None:
        return identity
    build = build_job if run_kind(wfe.spec) == RunKind.JOB else build_pipelinerun
    run = build(wfe, config, now=now, canonical_target=lock_target_of(wfe, obs))
    return Decision(actions=(CreateRun(run),))


def _holder_finished_at(holder: WorkflowExecution, run: tekton.Document) -> datetime | None:
    details = holder.status.failure_details
    return (
        holder.status.completion_time
        or (details.failed_at if details else None)
        or tekton.completion_time(run)
    )


def _refuse_unowned_run(wfe: WorkflowExecution, run: tekton.Document, now: datetime) -> Decision:
    """A run at the lock name that no WorkflowExecution controller created (it lacks the
    `kubernaut.ai/workflow-execution` annotation) is someone else's: never deleted or adopted.
    `Unknown`, as the platform's controller reports a run at the lock name it does not own."""
    message = (
        f"{run_title(run)} has this target's lock name but was not created by a"
        f" WorkflowExecution (it lacks the {Annotation.WORKFLOW_EXECUTION} annotation), so it is"
        " left alone. If it is not needed, delete it, then create this WorkflowExecution again"
    )
    return fail_before_run(wfe, FailureReason.UNKNOWN, message, now)


def decide_foreign_run(
    wfe: WorkflowExecution,
    run: tekton.Document,
    obs: Observation,
    config: ControllerConfig,
    now: datetime,
) -> Decision:
    """Another WFE's run holds the target: duplicate, wait out the cooldown, or break the lock."""
    holder_key = holder_of(run)
    if holder_key is None:
        return _refuse_unowned_run(wfe, run, now)
    namespace, name, uid = holder_key
    if obs.holder is UNREAD:
        return Decision(actions=(ReadHolder(namespace, name),))
    holder = parse_wfe(obs.holder) if obs.holder is not None else None
    # The holder's record names the run by its uid even when the run's annotation was edited.
    named = holder is not None and (not uid or holder.metadata.uid == uid)
    if holder is None or not (named or is_recorded_run(run, holder)):
        return delete_run_as_read(run, f"holder {namespace}/{name} no longer exists: stale lock")
    if not is_terminal(holder.status.phase):
        message = (
            f"Target {wfe.spec.target_resource} is already being remediated by"
            f" WorkflowExecution {namespace}/{name} ({run_title(run)})"
        )
        holder_name = name if namespace == wfe.metadata.namespace else f"{namespace}/{name}"
        return fail_before_run(
            wfe, FailureReason.DEDUPLICATED, message, now, deduplicated_by=holder_name
        )
    finished = _holder_finished_at(holder, run) or now
    release_at = finished + config.execution.cooldown_period
    if now >= release_at:
        return delete_run_as_read(run, f"cooldown of {namespace}/{name} is over: stale lock")
    if obs.waiting_ahead:
        return Decision(
            actions=(Requeue(release_at - now, "cooldown end"),),
            notes=(f"waiting behind {', '.join(obs.waiting_ahead)}",),
        )
    message = (
        f"Target {wfe.spec.target_resource} was remediated by WorkflowExecution"
        f" {namespace}/{name}; waiting for the cooldown to end at {release_at.isoformat()}"
    )
    status = to_waiting(wfe, message, now)
    waiting = Decision(status=status, actions=(Requeue(release_at - now, "cooldown end"),))
    return cooldown_active(wfe, waiting, release_at - now)


def decide_pending(
    wfe: WorkflowExecution,
    raw: Mapping[str, Any],
    obs: Observation,
    config: ControllerConfig,
    now: datetime,
) -> Decision:
    """Validate, then get-before-create on the per-target lock (spec §3.2)."""
    problems = configured_problems(raw, config)
    if problems:
        message = "; ".join(str(problem) for problem in problems)
        failed = fail_before_run(wfe, FailureReason.CONFIGURATION_ERROR, message, now)
        return validation_failed(wfe, failed, f"Spec validation failed: {message}")
    if (refused := engine_refusal(wfe.spec)) is not None:
        return validation_failed(wfe, fail_before_run(wfe, *refused, now), refused[1])
    if isinstance(obs.target, UnresolvedTarget):
        # No lock can be named for it: an unknown kind (after a discovery read made since the
        # WFE was created) or a namespace the kind's scope contradicts.
        return fail_before_run(wfe, FailureReason.CONFIGURATION_ERROR, obs.target.message, now)
    if isinstance(obs.create, Created):
        return start_recorded(wfe, obs.create.run, obs, now, adopted=False)
    if isinstance(obs.create, CreateRejected):
        return decide_create_rejected(wfe, obs.create, config, now)
    if isinstance(obs.create, AlreadyExists) or obs.delete is not None:
        return Decision(actions=(read_lock(wfe, config, obs),))
    if obs.run_error is not None:
        return Decision(actions=(Requeue(backoff(1), f"reading the run failed: {obs.run_error}"),))
    if obs.run is UNREAD:
        return Decision(actions=(read_lock(wfe, config, obs),))
    if obs.run is None:
        return decide_run_absent(wfe, obs, config, now)
    if tekton.deletion_timestamp(obs.run) is not None:
        return Decision(
            actions=(Requeue(config.execution.deleting_run_backoff, "old run being deleted"),)
        )
    if owned_by(obs.run, wfe):
        return start_recorded(wfe, obs.run, obs, now, adopted=True)
    return decide_foreign_run(wfe, obs.run, obs, config, now)


def _queue_key(wfe: WorkflowExecution) -> tuple[datetime, str, str]:
    created = wfe.metadata.creation_timestamp or datetime.max.replace(tzinfo=UTC)
    return created, wfe.metadata.name, wfe.metadata.namespace


def _is_waiting(wfe: WorkflowExecution) -> bool:
    """Pending behind a cooldown (`ResourceLocked` True/`RecentlyRemediated`)."""
    locked = wfe.status.condition(ConditionType.RESOURCE_LOCKED)
    return (
        wfe.status.phase in (None, Phase.PENDING)
        and locked is not None
        and locked.status == ConditionStatus.TRUE
        and locked.reason == ConditionReason.RECENTLY_REMEDIATED
    )


def waiters_ahead(
    wfe: WorkflowExecution, others: Iterable[WorkflowExecution], kinds: KindTable | None = None
) -> tuple[str, ...]:
    """`<namespace>/<name>` of waiting WFEs on the same object, however its kind is spelled,
    that go before this one (older creationTimestamp, then name; a WFE being deleted waits for
    nothing): the `Observation.waiting_ahead` the handler passes."""
    mine = _queue_key(wfe)
    target = target_identity(wfe.spec.target_resource, kinds)
    ahead = [
        other
        for other in others
        if other.metadata.uid != wfe.metadata.uid
        and other.metadata.deletion_timestamp is None
        and _is_waiting(other)
        and _queue_key(other) < mine
        and target_identity(other.spec.target_resource, kinds) == target
    ]
    return tuple(other.correlation_key for other in sorted(ahead, key=_queue_key))
