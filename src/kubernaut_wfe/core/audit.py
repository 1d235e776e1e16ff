"""Which audit events a WFE owes DataStorage (audit.md §1, §4): a pure function of the WFE.

Event timestamps come from status so that a re-derived event (after a restart) carries the
same `event_timestamp` as the first attempt:
- `selection.completed`: `startTime` (run created or adopted); for a rejected create, the
  `TektonPipelineCreated` condition's transition time (equal to `completionTime`).
- `execution.started`: `startTime`.
- `workflow.completed` / `workflow.failed`: `completionTime` (else `failureDetails.failedAt`).
- `workflow.failed` for a WFE deleted while Running: `metadata.deletionTimestamp`.
A run was created or adopted exactly when `status.pipelineRunRef` is set; a create was attempted
and refused exactly when `TektonPipelineCreated` is False.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from kubernaut_wfe.constants import (
    AuditEventType,
    ConditionReason,
    ConditionStatus,
    ConditionType,
    Label,
    Phase,
)
from kubernaut_wfe.core.conditions import set_condition
from kubernaut_wfe.core.models import Condition, WorkflowExecution


@dataclass(frozen=True)
class DueAuditEvent:
    """An audit event the WFE owes, with the time of the transition it records."""

    event_type: AuditEventType
    timestamp: datetime


def correlation_id(wfe: WorkflowExecution) -> str:
    """`spec.remediationRequestRef.name`, else the correlation-id label, else the WFE name."""
    return (
        wfe.spec.remediation_request_ref.name
        or wfe.metadata.labels.get(Label.CORRELATION_ID, "")
        or wfe.metadata.name
    )


def _first(*moments: datetime | None) -> datetime | None:
    return next((moment for moment in moments if moment is not None), None)


def due_audit_events(wfe: WorkflowExecution) -> list[DueAuditEvent]:
    """Every audit event due for the WFE's current status, in lifecycle order."""
    status = wfe.status
    created = status.condition(ConditionType.TEKTON_PIPELINE_CREATED)
    details_time = status.failure_details.failed_at if status.failure_details else None
    ended = _first(status.completion_time, details_time)
    due: list[DueAuditEvent] = []

    def add(event_type: AuditEventType, *moments: datetime | None) -> None:
        moment = _first(*moments, wfe.metadata.creation_timestamp)
        if moment is not None:
            due.append(DueAuditEvent(event_type, moment))

    if status.pipeline_run_ref is not None:
        add(AuditEventType.SELECTION_COMPLETED, status.start_time, ended)
        add(AuditEventType.EXECUTION_STARTED, status.start_time, ended)
    elif created is not None and created.status == ConditionStatus.FALSE:
        add(AuditEventType.SELECTION_COMPLETED, created.last_transition_time, ended)
    if status.phase == Phase.COMPLETED:
        add(AuditEventType.WORKFLOW_COMPLETED, ended)
    elif status.phase == Phase.FAILED:
        add(AuditEventType.WORKFLOW_FAILED, ended)
    elif status.phase == Phase.RUNNING and wfe.metadata.deletion_timestamp is not None:
        add(AuditEventType.WORKFLOW_FAILED, wfe.metadata.deletion_timestamp)
    return due


def undelivered_audit_events(wfe: WorkflowExecution) -> list[DueAuditEvent]:
    """Due events neither acknowledged nor rejected yet."""
    settled = {*wfe.status.audited_events, *wfe.status.rejected_audit_events}
    return [event for event in due_audit_events(wfe) if event.event_type not in settled]


def audit_condition_state(
    due: Iterable[AuditEventType],
    audited: Iterable[AuditEventType],
    rejected: Iterable[AuditEventType],
) -> tuple[ConditionStatus, ConditionReason, str] | None:
    """`(status, reason, message)` of `AuditRecorded`, or None when nothing is due yet."""
    due_set, audited_set, rejected_set = set(due), set(audited), set(rejected)
    if not due_set:
        return None
    refused = sorted(due_set & rejected_set)
    if refused:
        return (
            ConditionStatus.FALSE,
            ConditionReason.AUDIT_FAILED,
            f"DataStorage rejected audit events: {', '.join(refused)}",
        )
    waiting = sorted(due_set - audited_set)
    if waiting:
        return (
            ConditionStatus.FALSE,
            ConditionReason.AUDIT_PENDING,
            f"Waiting for DataStorage to acknowledge: {', '.join(waiting)}",
        )
    return ConditionStatus.TRUE, ConditionReason.AUDIT_SUCCEEDED, "All due audit events recorded"


def audit_condition(
    conditions: Sequence[Condition],
    due: Iterable[AuditEventType],
    audited: Iterable[AuditEventType],
    rejected: Iterable[AuditEventType],
    *,
    generation: int | None,
    now: datetime,
) -> list[Condition]:
    """The conditions with `AuditRecorded` set (unchanged when nothing is due yet)."""
    state = audit_condition_state(due, audited, rejected)
    if state is None:
        return list(conditions)
    status, reason, message = state
    return set_condition(
        conditions,
        ConditionType.AUDIT_RECORDED,
        status,
        reason,
        message,
        generation=generation,
        now=now,
    )
