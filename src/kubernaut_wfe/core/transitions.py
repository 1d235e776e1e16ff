"""Status builders for each phase transition; every one keeps Ready, AuditRecorded and
observedGeneration consistent and checks the phase table."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from kubernaut_wfe.constants import (
    AuditEventType,
    ConditionReason,
    ConditionStatus,
    ConditionType,
    FailureReason,
    Phase,
)
from kubernaut_wfe.core import tekton
from kubernaut_wfe.core.actions import kind_of_run
from kubernaut_wfe.core.audit import audit_condition, due_audit_events
from kubernaut_wfe.core.conditions import set_condition, set_ready
from kubernaut_wfe.core.durations import format_duration
from kubernaut_wfe.core.models import (
    FailureDetails,
    PipelineRunRef,
    PipelineRunSummary,
    WorkflowExecution,
    WorkflowExecutionStatus,
)
from kubernaut_wfe.core.phases import check_transition
from kubernaut_wfe.core.platform_status import with_platform_fields
from kubernaut_wfe.core.runs import believable_end


def finish(
    wfe: WorkflowExecution, status: WorkflowExecutionStatus, now: datetime, ready_message: str = ""
) -> WorkflowExecutionStatus:
    """Stamp observedGeneration, Ready and AuditRecorded on a new status."""
    check_transition(wfe.status.phase, status.phase)
    generation = wfe.metadata.generation or None
    reason = status.failure_details.reason if status.failure_details else None
    conditions = set_ready(
        status.conditions, status.phase, reason, ready_message, generation=generation, now=now
    )
    projected = wfe.model_copy(update={"status": status})
    due = [event.event_type for event in due_audit_events(projected)]
    # Events this transition makes due cannot have been recorded before it: entries for them
    # were written by someone else, and would keep the events from ever being sent.
    fresh = set(due) - {event.event_type for event in due_audit_events(wfe)}
    audited = [event for event in status.audited_events if event not in fresh]
    rejected = [event for event in status.rejected_audit_events if event not in fresh]
    conditions = audit_condition(conditions, due, audited, rejected, generation=generation, now=now)
    return with_platform_fields(
        status.model_copy(
            update={
                "conditions": conditions,
                "observed_generation": generation,
                "audited_events": audited,
                "rejected_audit_events": rejected,
            }
        )
    )


def _condition(
    wfe: WorkflowExecution,
    status: WorkflowExecutionStatus,
    condition_type: ConditionType,
    condition_status: ConditionStatus,
    reason: str,
    *,
    message: str,
    now: datetime,
) -> WorkflowExecutionStatus:
    conditions = set_condition(
        status.conditions,
        condition_type,
        condition_status,
        reason,
        message,
        generation=wfe.metadata.generation or None,
        now=now,
    )
    return status.model_copy(update={"conditions": conditions})


def to_running(
    wfe: WorkflowExecution,
    run: tekton.Document,
    summary: PipelineRunSummary,
    now: datetime,
    *,
    adopted: bool,
) -> WorkflowExecutionStatus:
    """Pending → Running after the run was created or adopted."""
    name = tekton.name_of(run)
    status = wfe.status.model_copy(
        update={
            "phase": Phase.RUNNING,
            "start_time": tekton.creation_timestamp(run) or now,
            "pipeline_run_ref": PipelineRunRef(name=name),
            "pipeline_run_status": summary,
        }
    )
    verb = "Adopted" if adopted else "Created"
    status = _condition(
        wfe,
        status,
        ConditionType.TEKTON_PIPELINE_CREATED,
        ConditionStatus.TRUE,
        ConditionReason.PIPELINE_CREATED,
        message=f"{verb} {kind_of_run(run)} {name}",
        now=now,
    )
    status = _condition(
        wfe,
        status,
        ConditionType.RESOURCE_LOCKED,
        ConditionStatus.FALSE,
        ConditionReason.LOCK_ACQUIRED,
        message=f"This execution holds the lock on {wfe.spec.target_resource}",
        now=now,
    )
    if tekton.is_finished(run):
        return finish(wfe, status, now, running_message(name, summary))
    # The run is in progress (or not yet picked up by Tekton): mirror it in this same write,
    # so that the run's first watch event finds nothing left to change.
    return _in_progress(wfe, status, summary, now)


def running_message(run_name: str, summary: PipelineRunSummary) -> str:
    """Ready's message while Running: the run's own message once Tekton wrote one."""
    return summary.message or f"PipelineRun {run_name} is running"


def _in_progress(
    wfe: WorkflowExecution,
    status: WorkflowExecutionStatus,
    summary: PipelineRunSummary,
    now: datetime,
) -> WorkflowExecutionStatus:
    status = _condition(
        wfe,
        status.model_copy(update={"pipeline_run_status": summary}),
        ConditionType.TEKTON_PIPELINE_RUNNING,
        ConditionStatus.TRUE,
        ConditionReason.PIPELINE_STARTED,
        message=summary.message or "PipelineRun started",
        now=now,
    )
    name = status.pipeline_run_ref.name if status.pipeline_run_ref else ""
    return finish(wfe, status, now, running_message(name, summary))


def refresh_running(
    wfe: WorkflowExecution, summary: PipelineRunSummary, now: datetime
) -> WorkflowExecutionStatus | None:
    """Running → Running with a fresher summary; None when nothing would change."""
    running = wfe.status.condition(ConditionType.TEKTON_PIPELINE_RUNNING)
    written = wfe.status.execution_status
    retries = written.retry_count if written is not None else None
    if (
        wfe.status.pipeline_run_status == summary.model_copy(update={"retry_count": None})
        and summary.retry_count in (None, retries)
        and running is not None
        and running.status == ConditionStatus.TRUE
    ):
        return None
    return _in_progress(wfe, wfe.status, summary, now)


def _ended(
    wfe: WorkflowExecution, status: WorkflowExecutionStatus, completed_at: datetime
) -> WorkflowExecutionStatus:
    start = status.start_time
    duration = format_duration(completed_at - start) if start else None
    return status.model_copy(update={"completion_time": completed_at, "duration": duration})


def to_completed(
    wfe: WorkflowExecution, run: tekton.Document, summary: PipelineRunSummary, now: datetime
) -> WorkflowExecutionStatus:
    """Running → Completed."""
    completed_at = believable_end(tekton.completion_time(run), wfe.status.start_time, now)
    status = _ended(wfe, wfe.status.model_copy(update={"phase": Phase.COMPLETED}), completed_at)
    status = status.model_copy(update={"pipeline_run_status": summary})
    status = _condition(
        wfe,
        status,
        ConditionType.TEKTON_PIPELINE_COMPLETE,
        ConditionStatus.TRUE,
        ConditionReason.PIPELINE_SUCCEEDED,
        message=summary.message or "PipelineRun succeeded",
        now=now,
    )
    return finish(wfe, status, now, "Workflow completed")


def to_failed(
    wfe: WorkflowExecution,
    details: FailureDetails,
    now: datetime,
    *,
    summary: PipelineRunSummary | None = None,
    complete_reason: ConditionReason | None = None,
    created_reason: ConditionReason | None = None,
) -> WorkflowExecutionStatus:
    """Any phase → Failed. `complete_reason` sets TektonPipelineComplete False (the run failed);
    `created_reason` sets TektonPipelineCreated False (the create was refused)."""
    status = wfe.status.model_copy(
        update={
            "phase": Phase.FAILED,
            "failure_details": details,
            "pipeline_run_status": summary or wfe.status.pipeline_run_status,
        }
    )
    status = _ended(wfe, status, details.failed_at)
    if complete_reason is not None:
        status = _condition(
            wfe,
            status,
            ConditionType.TEKTON_PIPELINE_COMPLETE,
            ConditionStatus.FALSE,
            complete_reason,
            message=details.message,
            now=now,
        )
    if created_reason is not None:
        status = _condition(
            wfe,
            status,
            ConditionType.TEKTON_PIPELINE_CREATED,
            ConditionStatus.FALSE,
            created_reason,
            message=details.message,
            now=now,
        )
    return finish(wfe, status, now, details.message)


def to_waiting(
    wfe: WorkflowExecution, message: str, now: datetime
) -> WorkflowExecutionStatus | None:
    """Stay Pending behind a cooldown: ResourceLocked True/RecentlyRemediated.

    None when that is already recorded (no write for nothing)."""
    locked = wfe.status.condition(ConditionType.RESOURCE_LOCKED)
    if (
        wfe.status.phase == Phase.PENDING
        and locked is not None
        and locked.status == ConditionStatus.TRUE
        and locked.reason == ConditionReason.RECENTLY_REMEDIATED
    ):
        return None
    status = wfe.status.model_copy(update={"phase": Phase.PENDING})
    status = _condition(
        wfe,
        status,
        ConditionType.RESOURCE_LOCKED,
        ConditionStatus.TRUE,
        ConditionReason.RECENTLY_REMEDIATED,
        message=message,
        now=now,
    )
    return finish(wfe, status, now, message)


def record_audit_outcomes(
    wfe: WorkflowExecution,
    status: WorkflowExecutionStatus,
    acknowledged: Iterable[AuditEventType],
    rejected: Iterable[AuditEventType],
    now: datetime,
) -> WorkflowExecutionStatus:
    """`status` (the one this reconcile writes for `wfe`) with delivery outcomes folded in and
    `AuditRecorded` redone: the reconcile loop is the only writer of both lists (audit.md §4).

    Only event types `status` makes due are recorded: an outcome for one it no longer owes
    (a phase someone else wrote, set back since) would keep the event from being sent when it
    is due again. An acknowledged type leaves the rejected list; both in lifecycle order."""
    projected = wfe.model_copy(update={"status": status})
    due = [event.event_type for event in due_audit_events(projected)]
    audited = {*status.audited_events, *(set(acknowledged) & set(due))}
    refused = {*status.rejected_audit_events, *(set(rejected) & set(due))} - audited
    order = list(AuditEventType)
    audited_list = sorted(audited, key=order.index)
    refused_list = sorted(refused, key=order.index)
    conditions = audit_condition(
        status.conditions,
        due,
        audited_list,
        refused_list,
        generation=wfe.metadata.generation or None,
        now=now,
    )
    return status.model_copy(
        update={
            "audited_events": audited_list,
            "rejected_audit_events": refused_list,
            "conditions": conditions,
        }
    )


def minimal_failed_status(
    wfe: WorkflowExecution, message: str, now: datetime
) -> WorkflowExecutionStatus:
    """The fallback written once when the API refused a status write: Failed, reason Unknown."""
    details = FailureDetails(
        reason=FailureReason.UNKNOWN,
        message=message[:4096],
        failed_at=now,
        natural_language_summary=f"The controller could not record the outcome: {message}"[:4096],
        was_execution_failure=wfe.status.pipeline_run_ref is not None,
    )
    generation = wfe.metadata.generation or None
    conditions = set_ready(
        [], Phase.FAILED, FailureReason.UNKNOWN, message, generation=generation, now=now
    )
    return with_platform_fields(
        WorkflowExecutionStatus(
            phase=Phase.FAILED,
            observed_generation=generation,
            completion_time=now,
            failure_details=details,
            conditions=conditions,
            audited_events=wfe.status.audited_events,
            rejected_audit_events=wfe.status.rejected_audit_events,
        )
    )
