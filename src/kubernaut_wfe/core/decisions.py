"""THE reconcile decision (spec §3): one pure function per situation, composed by `decide`.

The handler reads, calls `decide`, executes the returned `Decision` (status write, Events,
actions), and when an action needs an answer (read, create, delete) calls `decide` again with
that answer in the `Observation`. No I/O and no clock here: `now` is passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kubernaut_wfe.constants import (
    FINALIZER,
    RUN_DELETED_EXTERNALLY,
    ConditionReason,
    ConditionStatus,
    EventReason,
    EventType,
    FailureReason,
    Phase,
    RunKind,
)
from kubernaut_wfe.core import tekton
from kubernaut_wfe.core.actions import (
    AddFinalizer,
    AwaitAudit,
    Decision,
    KubeEvent,
    Outcome,
    ReadTaskRuns,
    RecordExecution,
    RemoveFinalizer,
    Requeue,
    RestoreRunMetadata,
    backoff,
    delete_run_as_read,
    kind_of_run,
)
from kubernaut_wfe.core.audit import undelivered_audit_events
from kubernaut_wfe.core.config import ControllerConfig
from kubernaut_wfe.core.dependencies import ends_before_its_run
from kubernaut_wfe.core.durations import format_duration
from kubernaut_wfe.core.endings import fail_before_run, outcome_of, run_failed, run_succeeded
from kubernaut_wfe.core.engines import run_kind
from kubernaut_wfe.core.failure import (
    failure_details,
    preexecution_failure,
)
from kubernaut_wfe.core.job_running import decide_job_running
from kubernaut_wfe.core.models import WorkflowExecution
from kubernaut_wfe.core.observation import (
    UNREAD,
    Observation,
)
from kubernaut_wfe.core.pending import decide_pending
from kubernaut_wfe.core.pipelinerun import missing_metadata, owned_by
from kubernaut_wfe.core.platform_events import phase_transition
from kubernaut_wfe.core.rebuild import (
    completed_too_early,
    decide_completion_time,
    decide_end_restored,
    decide_identity_restored,
    decide_status_lost,
    decide_stop_request,
    rebuilt_from_run,
    rewound,
)
from kubernaut_wfe.core.record import read_record, record_of_run
from kubernaut_wfe.core.run_lookup import lock_target_of, own_run_name, read_run
from kubernaut_wfe.core.runs import stop_request
from kubernaut_wfe.core.runstatus import nothing_started, run_summary
from kubernaut_wfe.core.transitions import (
    minimal_failed_status,
    refresh_running,
    to_failed,
)
from kubernaut_wfe.core.validation import parse_wfe

# --- Running ---------------------------------------------------------------------------------


def decide_run_lost(wfe: WorkflowExecution, now: datetime) -> Decision:
    """Running → Failed: the run was deleted by someone else."""
    executed = not nothing_started(wfe.status.pipeline_run_status)
    message = RUN_DELETED_EXTERNALLY.format(kind=run_kind(wfe.spec))
    details = preexecution_failure(wfe, FailureReason.UNKNOWN, message, now, was_execution=executed)
    status = to_failed(wfe, details, now, complete_reason=ConditionReason.PIPELINE_FAILED)
    start = wfe.status.start_time
    if start is not None and status.failure_details is not None:
        ran = format_duration(now - start)
        status = status.model_copy(
            update={
                "failure_details": status.failure_details.model_copy(
                    update={"execution_time_before_failure": ran}
                )
            }
        )
    event = KubeEvent(EventReason.WORKFLOW_FAILED, EventType.WARNING, message)
    return Decision(status=status, events=(event,), outcome=outcome_of(status))


def decide_running(
    wfe: WorkflowExecution, obs: Observation, config: ControllerConfig, now: datetime
) -> Decision:
    """Follow the run: refresh the summary, or finish as Completed or Failed (spec §3.3)."""
    if wfe.status.completion_time is not None:
        return decide_end_restored(wfe)
    if obs.run_error is not None:
        return Decision(actions=(Requeue(backoff(1), "reading the run failed"),))
    if obs.run is UNREAD:
        return Decision(actions=(read_run(wfe, config, obs),))
    run = obs.run
    if run is None or not owned_by(run, wfe) or tekton.deletion_timestamp(run) is not None:
        return decide_run_lost(wfe, now)
    if (record := record_of_run(run)).uid and record != read_record(wfe):
        return Decision(actions=(RecordExecution(record.annotation()),))
    if (restored := decide_identity_restored(wfe, run)) is not None:
        return restored
    labels, annotations = missing_metadata(run, wfe, lock_target_of(wfe, obs))
    if labels or annotations:
        meta = tekton.metadata(run)
        namespace = str(meta.get("namespace") or "")
        restore = RestoreRunMetadata(
            namespace, tekton.name_of(run), labels, annotations, kind_of_run(run)
        )
        return Decision(actions=(restore,))
    if kind_of_run(run) == RunKind.JOB:
        return decide_job_running(wfe, run, obs, now)
    condition = tekton.succeeded(run)
    previous = wfe.status.pipeline_run_status
    early = ends_before_its_run(run, obs.taskruns or ())
    if not early and (condition is None or condition.status == ConditionStatus.UNKNOWN):
        summary = run_summary(run, obs.taskruns or (), previous)
        return Decision(status=refresh_running(wfe, summary, now))
    if early and (cancel := stop_request(run)) is not None:
        return Decision(actions=(cancel,), notes=("a child TaskRun cannot start: cancelling",))
    if obs.taskruns is None and tekton.taskrun_children(run):
        meta = tekton.metadata(run)
        return Decision(
            actions=(ReadTaskRuns(str(meta.get("namespace") or ""), tekton.name_of(run)),)
        )
    summary = run_summary(run, obs.taskruns or (), previous)
    if condition is not None and condition.status == ConditionStatus.TRUE:
        return run_succeeded(wfe, run, summary, now)
    projected = wfe.model_copy(
        update={"status": wfe.status.model_copy(update={"pipeline_run_status": summary})}
    )
    return run_failed(wfe, failure_details(projected, run, obs.taskruns or (), now), summary, now)


# --- Terminal --------------------------------------------------------------------------------


def decide_terminal(
    wfe: WorkflowExecution,
    obs: Observation,
    config: ControllerConfig,
    now: datetime,
    *,
    failure_reason_text: str = "",
) -> Decision:
    """Hold the lock for the cooldown after completion, then delete our run (spec §3.4). A
    terminal phase someone else wrote is checked against the run first (`core.rebuild`);
    `failure_reason_text` is the free-text `status.failureReason` they may have given."""
    if (run := completed_too_early(wfe, obs)) is not None:
        return rebuilt_from_run(wfe, decide_running(rewound(wfe), obs, config, now), run)
    if (stop := decide_stop_request(wfe, obs, failure_reason_text, now)) is not None:
        return stop
    if (completed := decide_completion_time(wfe, obs, now)) is not None:
        return completed
    status = wfe.status
    run_name = own_run_name(wfe)
    if run_name is None:
        return Decision()
    ended = status.completion_time or now
    release_at = ended + config.execution.cooldown_period
    if now < release_at:
        return Decision(actions=(Requeue(release_at - now, "lock release"),))
    if obs.delete is not None:
        if not obs.delete.deleted:
            return Decision()
        event = KubeEvent(
            EventReason.LOCK_RELEASED,
            EventType.NORMAL,
            f"Released the lock on {wfe.spec.target_resource}: deleted {run_kind(wfe.spec)}"
            f" {config.execution.namespace}/{run_name}",
        )
        return Decision(events=(event,))
    if obs.run_error is not None:
        return Decision(actions=(Requeue(backoff(1), "reading the run failed"),))
    if obs.run is UNREAD:
        return Decision(actions=(read_run(wfe, config, obs),))
    if obs.run is None or not owned_by(obs.run, wfe) or tekton.deletion_timestamp(obs.run):
        return Decision()
    return Decision(actions=delete_run_as_read(obs.run, "cooldown over").actions)


# --- Deletion --------------------------------------------------------------------------------


def decide_deletion(
    wfe: WorkflowExecution, obs: Observation, config: ControllerConfig, now: datetime
) -> Decision:
    """Delete our run (only ours), owe workflow.failed if Running, hand the due audit events to
    delivery, then drop the finalizer once DataStorage acknowledged them or the wait for them
    (`audit.deletion_delivery_timeout` from the hand-over) is over. The wait is a requeue: no
    worker waits for DataStorage."""
    if FINALIZER not in wfe.metadata.finalizers:
        return Decision()
    if obs.delete is None and obs.run_error is not None:
        return Decision(actions=(Requeue(backoff(1), "reading the run failed"),))
    if obs.delete is None and obs.run is UNREAD:
        return Decision(actions=(read_run(wfe, config, obs),))
    run = obs.run if obs.delete is None and obs.run is not UNREAD else None
    if run is not None and owned_by(run, wfe) and tekton.deletion_timestamp(run) is None:
        return delete_run_as_read(run, "WorkflowExecution deleted: stopping its run")
    due = tuple(undelivered_audit_events(wfe))
    event = KubeEvent(
        EventReason.WORKFLOW_EXECUTION_DELETED,
        EventType.NORMAL,
        f"WorkflowExecution deleted in phase {wfe.status.phase or Phase.PENDING}",
    )
    if not due:
        return Decision(events=(event,), actions=(RemoveFinalizer(),))
    wait = obs.audit_wait
    if wait is None:
        return Decision(actions=(AwaitAudit(),))
    pending = tuple(sorted({due_event.event_type for due_event in due} & wait.pending))
    if not pending:
        return Decision(events=(event,), actions=(RemoveFinalizer(),))
    deadline = wait.since + config.audit.deletion_delivery_timeout
    if now >= deadline:
        return Decision(events=(event,), actions=(RemoveFinalizer(pending),))
    # Delivery's outcome wakes the WFE as soon as DataStorage answers; this bounds the wait.
    waiting = f"waiting for DataStorage to acknowledge {', '.join(pending)}"
    return Decision(actions=(Requeue(deadline - now, waiting),))


# --- Entry point -----------------------------------------------------------------------------


def decide(
    wfe: Mapping[str, Any] | WorkflowExecution,
    observed: Observation,
    config: ControllerConfig,
    now: datetime,
    *,
    parsed: WorkflowExecution | None = None,
) -> Decision:
    """The next step for this WFE given what was observed. Pass the raw object when possible:
    validation re-checks it exactly as the API returned it. `parsed`: `parse_wfe` of that raw
    object, when the caller has it already."""
    typed = wfe if isinstance(wfe, WorkflowExecution) else parsed or parse_wfe(wfe)
    return phase_transition(typed, _decide(wfe, observed, config, now, parsed=typed))


def _decide(
    wfe: Mapping[str, Any] | WorkflowExecution,
    observed: Observation,
    config: ControllerConfig,
    now: datetime,
    *,
    parsed: WorkflowExecution,
) -> Decision:
    if isinstance(wfe, WorkflowExecution):
        raw: Mapping[str, Any] = wfe.model_dump(
            mode="json", by_alias=True, exclude_none=True, exclude_defaults=True
        )
        typed = wfe
    else:
        raw, typed = wfe, parsed
    if typed.metadata.deletion_timestamp is not None:
        return decide_deletion(typed, observed, config, now)
    if FINALIZER not in typed.metadata.finalizers:
        return Decision(actions=(AddFinalizer(),))
    phase = typed.status.phase
    if phase in (None, Phase.PENDING) and observed.create is None:
        if typed.status.completion_time is not None:
            return decide_end_restored(typed)  # it ended before: never start it again
        if (record := read_record(typed)) is not None:
            return decide_status_lost(typed, record, observed, now)
    if phase is None or phase == Phase.PENDING:
        try:
            return decide_pending(typed, raw, observed, config, now)
        except (ArithmeticError, ValueError, TypeError, LookupError) as error:
            if observed.create is not None or observed.run not in (UNREAD, None):
                raise  # a run exists: failing "before the run" would not be true
            # The core does no I/O: an error here is input it cannot handle, and the same input
            # would fail the same way on every retry. Nothing has run yet: fail it clearly.
            message = (
                "the controller cannot handle this WorkflowExecution's spec"
                f" ({type(error).__name__}: {error}); nothing was run"
            )
            return fail_before_run(typed, FailureReason.CONFIGURATION_ERROR, message, now)
    if phase == Phase.RUNNING:
        return decide_running(typed, observed, config, now)
    return decide_terminal(typed, observed, config, now, failure_reason_text=_failure_reason(raw))


def _failure_reason(raw: Mapping[str, Any]) -> str:
    """`status.failureReason`: free text someone else wrote (this controller never does)."""
    status = raw.get("status")
    text = status.get("failureReason") if isinstance(status, Mapping) else None
    return text if isinstance(text, str) else ""


def status_write_rejected(wfe: WorkflowExecution, error: str, now: datetime) -> Decision:
    """After the API refused a status write: one minimal Failed status and a Warning Event."""
    message = f"Status write rejected by the API server: {error}"
    status = minimal_failed_status(wfe, message, now)
    event = KubeEvent(EventReason.STATUS_WRITE_REJECTED, EventType.WARNING, message)
    return Decision(status=status, events=(event,), outcome=Outcome(Phase.FAILED))
