"""How a WFE ends where no run analysis decides it: failing before any run existed (invalid
spec, duplicate, refused create), and the `Outcome` the metrics count for a status that ended."""

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
from kubernaut_wfe.core.failure import preexecution_failure
from kubernaut_wfe.core.models import WorkflowExecution, WorkflowExecutionStatus
from kubernaut_wfe.core.observation import ApiFailure
from kubernaut_wfe.core.transitions import to_failed


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
