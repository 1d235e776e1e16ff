"""A status someone else wrote (docs/trust-model.md): checked against the run, never trusted to
run a workflow twice, claim an outcome that did not happen, or hold a lock forever.

- A Pending (or empty) status on a WFE whose execution record names a run (`core.record`): the
  status was lost. It is rebuilt from that run; if the run is gone, the WFE fails saying so.
- Pending or Running with the `completionTime` of an end the WFE reached: that end is restored.
- `Completed` while the WFE's own run has not succeeded: the status is rebuilt from the run
  (Running again, or the run's real outcome).
- `Failed` while the WFE's own run goes on: a request to stop. The platform's orchestrator makes
  it when its RemediationRequest ends (phase `Failed` and a free-text `failureReason`, nothing
  else). The run is cancelled, `Failed` is kept with that text as its message, completed with a
  `completionTime` so that the cooldown ends and the lock is released, and `workflow.failed` is
  owed once. Any `Failed` without a `completionTime` is completed the same way, and a
  `Completed` without one gets the run's.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from kubernaut_wfe.constants import (
    AuditEventType,
    ConditionReason,
    ConditionType,
    EventReason,
    EventType,
    FailureReason,
    Phase,
    WfeAnnotation,
)
from kubernaut_wfe.core import runs, tekton
from kubernaut_wfe.core.actions import Decision, KubeEvent, ReadRun, Requeue, backoff
from kubernaut_wfe.core.durations import format_duration
from kubernaut_wfe.core.endings import outcome_of
from kubernaut_wfe.core.failure import preexecution_failure
from kubernaut_wfe.core.models import PipelineRunRef, WorkflowExecution, WorkflowExecutionStatus
from kubernaut_wfe.core.observation import UNREAD, Observation
from kubernaut_wfe.core.pending import start_running
from kubernaut_wfe.core.pipelinerun import owned_by
from kubernaut_wfe.core.record import ExecutionRecord, UnreadableRecord
from kubernaut_wfe.core.run_lookup import run_title
from kubernaut_wfe.core.runstatus import nothing_started
from kubernaut_wfe.core.transitions import to_failed

OUTCOME_EVENTS = frozenset({AuditEventType.WORKFLOW_COMPLETED, AuditEventType.WORKFLOW_FAILED})
STOP_REQUESTED = "phase set to Failed by someone else while the run was going on"
"""The message of a stop request that gave no `failureReason`."""


def _not_run_again(record: str) -> str:
    return (
        f"this WorkflowExecution's status was removed or rewritten by someone else after it"
        f" created {record}, and that run no longer exists, so its outcome cannot be rebuilt."
        " The workflow is not run again; to run it again, create a new WorkflowExecution"
    )


def _fail_lost(wfe: WorkflowExecution, message: str, now: datetime) -> Decision:
    details = preexecution_failure(wfe, FailureReason.UNKNOWN, message, now, was_execution=True)
    status = to_failed(wfe, details, now, complete_reason=ConditionReason.PIPELINE_FAILED)
    event = KubeEvent(EventReason.STATUS_REBUILT, EventType.WARNING, message)
    return Decision(status=status, events=(event,), outcome=outcome_of(status))


def _rebuilt_event(wfe: WorkflowExecution, run: tekton.Document, what: str) -> KubeEvent:
    return KubeEvent(
        EventReason.STATUS_REBUILT,
        EventType.WARNING,
        f"{what}; status rebuilt from {run_title(run)}, which this WorkflowExecution"
        " created (status is the controller's: see docs/trust-model.md)",
    )


def decide_end_restored(wfe: WorkflowExecution) -> Decision:
    """A status that says Pending or Running but keeps the `completionTime` of the end it
    reached: someone set the phase back. The end is restored (Failed when the status has
    failure details, else Completed); the outcome event is the one already due at that end."""
    phase = Phase.FAILED if wfe.status.failure_details is not None else Phase.COMPLETED
    status = wfe.status.model_copy(update={"phase": phase})
    message = (
        f"status.phase was set back to {wfe.status.phase or 'nothing'} after this"
        f" WorkflowExecution ended {phase}; its end is restored (status is the controller's:"
        " see docs/trust-model.md)"
    )
    event = KubeEvent(EventReason.STATUS_REBUILT, EventType.WARNING, message)
    return Decision(status=status, events=(event,))


def decide_status_lost(
    wfe: WorkflowExecution,
    record: ExecutionRecord | UnreadableRecord,
    obs: Observation,
    now: datetime,
) -> Decision:
    """Pending or no phase, yet the WFE created a run: rebuild from that run, never create."""
    if isinstance(record, UnreadableRecord):
        what = (
            f"a run (its {WfeAnnotation.EXECUTION_RESOURCE} annotation was changed to"
            f" {record.text!r})"
        )
        return _fail_lost(wfe, _not_run_again(what), now)
    if obs.run_error is not None:
        return Decision(actions=(Requeue(backoff(1), "reading the recorded run failed"),))
    if obs.run is UNREAD:
        return Decision(actions=(ReadRun(record.namespace, record.name, record.run_kind),))
    run = obs.run
    if run is None or not owned_by(run, wfe) or tekton.deletion_timestamp(run) is not None:
        return _fail_lost(wfe, _not_run_again(f"{record.run_kind} {record.ref}"), now)
    decision = start_running(wfe, run, obs, now, adopted=True)
    event = _rebuilt_event(wfe, run, "the status showed no run")
    return replace(decision, events=(*decision.events, event))


def identity_restored(
    wfe: WorkflowExecution, run: tekton.Document
) -> WorkflowExecutionStatus | None:
    """The status with the run's name and start time put back where someone changed them
    (`pipelineRunRef`, `startTime`, both taken from the run at Running); None when they agree."""
    started = tekton.creation_timestamp(run) or wfe.status.start_time
    fields = {"pipeline_run_ref": PipelineRunRef(name=tekton.name_of(run)), "start_time": started}
    if all(getattr(wfe.status, key) == value for key, value in fields.items()):
        return None
    return wfe.status.model_copy(update=fields)


def decide_identity_restored(wfe: WorkflowExecution, run: tekton.Document) -> Decision | None:
    """A Running status whose run name or start time someone changed, written back."""
    status = identity_restored(wfe, run)
    if status is None:
        return None
    event = _rebuilt_event(wfe, run, "status.pipelineRunRef or startTime was changed")
    return Decision(status=status, events=(event,))


def rewound(wfe: WorkflowExecution) -> WorkflowExecution:
    """The WFE as it was while Running: without the outcome someone else wrote, and without
    outcome events in its audit lists (a WFE ends once, so none can have been recorded)."""
    status = wfe.status
    dropped = {ConditionType.READY.value, ConditionType.TEKTON_PIPELINE_COMPLETE.value}
    running = status.model_copy(
        update={
            "phase": Phase.RUNNING,
            "completion_time": None,
            "duration": None,
            "failure_details": None,
            "conditions": [c for c in status.conditions if c.type not in dropped],
            "audited_events": [e for e in status.audited_events if e not in OUTCOME_EVENTS],
            "rejected_audit_events": [
                e for e in status.rejected_audit_events if e not in OUTCOME_EVENTS
            ],
        }
    )
    return wfe.model_copy(update={"status": running})


def own_live_run(wfe: WorkflowExecution, obs: Observation) -> tekton.Document | None:
    """The observed run when it is the WFE's own and not being deleted."""
    run = obs.run
    if run is UNREAD or run is None:
        return None
    if not owned_by(run, wfe) or tekton.deletion_timestamp(run) is not None:
        return None
    return run


def completed_too_early(wfe: WorkflowExecution, obs: Observation) -> tekton.Document | None:
    """The WFE's own run when the WFE says Completed but that run has not succeeded."""
    run = own_live_run(wfe, obs)
    if wfe.status.phase != Phase.COMPLETED or run is None:
        return None
    return None if runs.has_succeeded(run) else run


def rebuilt_from_run(wfe: WorkflowExecution, following: Decision, run: tekton.Document) -> Decision:
    """`following` (what Running decides for `rewound(wfe)`) as the decision for `wfe`: its
    status, or the rewound one when following changes nothing, plus a Warning Event."""
    if any(not isinstance(action, Requeue) for action in following.actions):
        return following  # a read first; the rebuild is decided once it is done
    status = following.status or rewound(wfe).status
    event = _rebuilt_event(wfe, run, "status.phase was set to Completed before the run succeeded")
    return Decision(
        status=status,
        events=(*following.events, event),
        actions=following.actions,
        outcome=following.outcome,
    )


def decide_stop_request(
    wfe: WorkflowExecution, obs: Observation, reason_text: str, now: datetime
) -> Decision | None:
    """For a Failed WFE: cancel its own run while that goes on, and complete a `Failed` someone
    else wrote (no `completionTime`). None when there is nothing to do."""
    if wfe.status.phase != Phase.FAILED:
        return None
    run = own_live_run(wfe, obs)
    going_on = run is not None and not runs.is_finished(run)
    if run is not None and going_on and (stop := runs.stop_request(run)) is not None:
        return Decision(actions=(stop,))
    if wfe.status.completion_time is not None:
        return None
    message = reason_text.strip() or STOP_REQUESTED
    executed = run is not None or not nothing_started(wfe.status.pipeline_run_status)
    details = preexecution_failure(wfe, FailureReason.UNKNOWN, message, now, was_execution=executed)
    before = wfe.status.model_copy(update={"phase": Phase.RUNNING})
    status = to_failed(
        wfe.model_copy(update={"status": before}),
        details,
        now,
        complete_reason=ConditionReason.PIPELINE_FAILED if run is not None else None,
    )
    events: tuple[KubeEvent, ...] = ()
    if run is not None:
        events = (
            KubeEvent(
                EventReason.EXECUTION_CANCELLED,
                EventType.WARNING,
                f"Cancelled {run_title(run)}: the WorkflowExecution was set Failed ({message})",
            ),
        )
    return Decision(status=status, events=events, outcome=outcome_of(status))


def decide_completion_time(
    wfe: WorkflowExecution, obs: Observation, now: datetime
) -> Decision | None:
    """A `Completed` someone else wrote without `completionTime`: given the run's (or now), so
    that the cooldown can end and the lock be released. None for any other status."""
    if wfe.status.phase != Phase.COMPLETED or wfe.status.completion_time is not None:
        return None
    run = own_live_run(wfe, obs)
    start = wfe.status.start_time
    ended = runs.believable_end(tekton.completion_time(run) if run else None, start, now)
    update: dict[str, object] = {"completion_time": ended}
    if start is not None:
        update["duration"] = format_duration(ended - start)
    return Decision(status=wfe.status.model_copy(update=update))
