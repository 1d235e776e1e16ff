"""How a WFE ends: failing before any run existed (invalid spec, duplicate, refused create), its
run's success or analysed failure (whichever engine ran it), and the `Outcome` the metrics count
for a status that ended."""

from __future__ import annotations

from datetime import datetime

from kubernaut_wfe.constants import (
    EXCEEDED_QUOTA_TEXT,
    ConditionReason,
    EventReason,
    EventType,
    FailureReason,
    Phase,
)
from kubernaut_wfe.core.actions import Decision, KubeEvent, Outcome
from kubernaut_wfe.core.failure import pipeline_complete_reason, preexecution_failure
from kubernaut_wfe.core.models import (
    FailureDetails,
    PipelineRunSummary,
    WorkflowExecution,
    WorkflowExecutionStatus,
)
from kubernaut_wfe.core.observation import ApiFailure
from kubernaut_wfe.core.run_lookup import run_title
from kubernaut_wfe.core.tekton import Document
from kubernaut_wfe.core.transitions import to_completed, to_failed


def fail_before_run(
    wfe: WorkflowExecution,
    reason: FailureReason,
    message: str,
    now: datetime,
    *,
    created_reason: ConditionReason | None = None,
    deduplicated_by: str | None = None,
) -> Decision:
    """Pending → Failed without a run (invalid spec, duplicate, refused create);
    `deduplicated_by` names the WFE holding the target (`status.deduplicatedBy`)."""
    details = preexecution_failure(wfe, reason, message, now)
    status = to_failed(wfe, details, now, created_reason=created_reason)
    if deduplicated_by is not None:
        status = status.model_copy(update={"deduplicated_by": deduplicated_by})
    event = KubeEvent(EventReason.WORKFLOW_FAILED, EventType.WARNING, f"{reason}: {message}")
    return Decision(status=status, events=(event,), outcome=Outcome(Phase.FAILED))


def create_refused_reason(failure: ApiFailure) -> tuple[FailureReason, ConditionReason]:
    """The enum reasons for a refused CREATE (403 quota, 403, 400/422, anything else)."""
    if failure.status == 403 and EXCEEDED_QUOTA_TEXT in failure.message.lower():
        return FailureReason.RESOURCE_EXHAUSTED, ConditionReason.QUOTA_EXCEEDED
    if failure.status == 403:
        return FailureReason.FORBIDDEN, ConditionReason.RBAC_DENIED
    if failure.status in (400, 422):
        return FailureReason.CONFIGURATION_ERROR, ConditionReason.PIPELINE_CREATION_FAILED
    return FailureReason.UNKNOWN, ConditionReason.PIPELINE_CREATION_FAILED


def outcome_of(status: WorkflowExecutionStatus) -> Outcome:
    """The terminal phase of an ended status and its run's duration, for the metrics."""
    assert status.phase is not None
    seconds = None
    if status.start_time and status.completion_time:
        seconds = max(0.0, (status.completion_time - status.start_time).total_seconds())
    return Outcome(status.phase, seconds)


def run_succeeded(
    wfe: WorkflowExecution, run: Document, summary: PipelineRunSummary, now: datetime
) -> Decision:
    """Running → Completed: the run succeeded."""
    status = to_completed(wfe, run, summary, now)
    event = KubeEvent(
        EventReason.WORKFLOW_COMPLETED,
        EventType.NORMAL,
        f"{run_title(run)} succeeded in {status.duration}",
    )
    return Decision(status=status, events=(event,), outcome=outcome_of(status))


def run_failed(
    wfe: WorkflowExecution, details: FailureDetails, summary: PipelineRunSummary, now: datetime
) -> Decision:
    """Running → Failed with the failure the run's analysis found."""
    status = to_failed(
        wfe,
        details,
        now,
        summary=summary,
        complete_reason=pipeline_complete_reason(details.reason),
    )
    event = KubeEvent(
        EventReason.WORKFLOW_FAILED, EventType.WARNING, f"{details.reason}: {details.message}"
    )
    return Decision(status=status, events=(event,), outcome=outcome_of(status))
