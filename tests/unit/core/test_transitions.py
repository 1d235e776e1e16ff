from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from kubernaut_wfe.constants import AuditEventType, ConditionStatus, FailureReason, Phase
from kubernaut_wfe.core.models import FailureDetails, WorkflowExecutionStatus
from kubernaut_wfe.core.phases import IllegalTransitionError
from kubernaut_wfe.core.transitions import (
    minimal_failed_status,
    record_audit_outcomes,
    to_failed,
)
from kubernaut_wfe.core.validation import parse_wfe

Factory = Callable[..., dict[str, Any]]
NOW = datetime(2025, 6, 1, 10, 5, tzinfo=UTC)
SEL, STA, COM = (
    AuditEventType.SELECTION_COMPLETED,
    AuditEventType.EXECUTION_STARTED,
    AuditEventType.WORKFLOW_COMPLETED,
)
COMPLETED = {
    "phase": "Completed",
    "startTime": "2025-06-01T10:00:00Z",
    "completionTime": "2025-06-01T10:01:00Z",
    "pipelineRunRef": {"name": "wfe-f3457dcc8fbcb6d9"},
}


def _recorded(status: WorkflowExecutionStatus) -> tuple[ConditionStatus, str]:
    condition = status.condition("AuditRecorded")
    assert condition is not None
    return condition.status, condition.reason


def test_acknowledged_events_are_recorded_in_lifecycle_order(make_wfe: Factory) -> None:
    wfe = parse_wfe(make_wfe(status=COMPLETED))
    status = record_audit_outcomes(wfe, wfe.status, [COM, SEL, STA], [], NOW)
    assert status.audited_events == [SEL, STA, COM]
    assert _recorded(status) == (ConditionStatus.TRUE, "AuditSucceeded")


def test_partial_acknowledgement_leaves_the_condition_pending(make_wfe: Factory) -> None:
    wfe = parse_wfe(make_wfe(status=COMPLETED))
    status = record_audit_outcomes(wfe, wfe.status, [STA], [], NOW)
    assert status.audited_events == [STA]
    assert _recorded(status) == (ConditionStatus.FALSE, "AuditPending")


def test_a_rejected_event_makes_the_condition_failed(make_wfe: Factory) -> None:
    wfe = parse_wfe(make_wfe(status=COMPLETED))
    status = record_audit_outcomes(wfe, wfe.status, [SEL], [COM, STA], NOW)
    assert status.audited_events == [SEL]
    assert status.rejected_audit_events == [STA, COM]
    assert _recorded(status) == (ConditionStatus.FALSE, "AuditFailed")


def test_an_acknowledged_event_leaves_the_rejected_list(make_wfe: Factory) -> None:
    wfe = parse_wfe(make_wfe(status={**COMPLETED, "rejectedAuditEvents": [STA.value]}))
    status = record_audit_outcomes(wfe, wfe.status, [SEL, STA, COM], [], NOW)
    assert status.audited_events == [SEL, STA, COM]
    assert status.rejected_audit_events == []
    assert _recorded(status) == (ConditionStatus.TRUE, "AuditSucceeded")


def test_only_events_the_written_status_makes_due_are_recorded(make_wfe: Factory) -> None:
    pending = parse_wfe(make_wfe(status={"phase": "Pending"}))
    status = record_audit_outcomes(pending, pending.status, [COM], [SEL], NOW)
    assert status == pending.status
    running = parse_wfe(make_wfe(status={**COMPLETED, "phase": "Running"}))
    completed = running.status.model_copy(update={"phase": Phase.COMPLETED})
    # The transition this reconcile writes makes workflow.completed due in that same write.
    status = record_audit_outcomes(running, completed, [COM], [], NOW)
    assert status.audited_events == [COM]
    assert record_audit_outcomes(running, running.status, [COM], [], NOW).audited_events == []


def test_recording_again_changes_nothing(make_wfe: Factory) -> None:
    wfe = parse_wfe(make_wfe(status=COMPLETED))
    written = record_audit_outcomes(wfe, wfe.status, [SEL, STA, COM], [], NOW)
    again = parse_wfe(make_wfe(status=written.to_api()))
    assert record_audit_outcomes(again, again.status, [SEL], [], NOW) == again.status


def test_transitions_refuse_illegal_moves(make_wfe: Factory) -> None:
    wfe = parse_wfe(make_wfe(status=COMPLETED))
    details = FailureDetails(reason=FailureReason.UNKNOWN, message="m", failed_at=NOW)
    with pytest.raises(IllegalTransitionError):
        to_failed(wfe, details, NOW)


def test_minimal_failed_status_keeps_audit_bookkeeping(make_wfe: Factory) -> None:
    wfe = parse_wfe(
        make_wfe(status={**COMPLETED, "phase": "Running", "auditedEvents": [SEL.value]})
    )
    status = minimal_failed_status(wfe, "x" * 5000, NOW)
    assert status.phase == Phase.FAILED
    assert status.audited_events == [SEL]
    assert status.failure_details is not None
    assert len(status.failure_details.message) == 4096
    assert status.failure_details.was_execution_failure is True
