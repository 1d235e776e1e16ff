from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from kubernaut_wfe.constants import AuditEventType, ConditionStatus, FailureReason, Phase
from kubernaut_wfe.core.models import FailureDetails
from kubernaut_wfe.core.phases import IllegalTransitionError
from kubernaut_wfe.core.transitions import minimal_failed_status, record_audit_results, to_failed
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


def test_record_audit_results_all_acknowledged(make_wfe: Factory) -> None:
    wfe = parse_wfe(make_wfe(status=COMPLETED))
    status = record_audit_results(wfe, [COM, SEL, STA], [], NOW)
    assert status is not None
    assert status.audited_events == [SEL, STA, COM]
    recorded = status.condition("AuditRecorded")
    assert recorded is not None
    assert (recorded.status, recorded.reason) == (ConditionStatus.TRUE, "AuditSucceeded")


def test_record_audit_results_partial_and_rejected(make_wfe: Factory) -> None:
    wfe = parse_wfe(make_wfe(status=COMPLETED))
    status = record_audit_results(wfe, [SEL], [STA], NOW)
    assert status is not None
    assert status.rejected_audit_events == [STA]
    recorded = status.condition("AuditRecorded")
    assert recorded is not None
    assert recorded.reason == "AuditFailed"


def test_record_audit_results_ignores_undue_and_noops(make_wfe: Factory) -> None:
    wfe = parse_wfe(make_wfe(status={"phase": "Pending"}))
    assert record_audit_results(wfe, [COM], [], NOW) is None
    done = parse_wfe(make_wfe(status=COMPLETED))
    written = record_audit_results(done, [SEL, STA, COM], [], NOW)
    assert written is not None
    again = parse_wfe(make_wfe(status=written.to_api()))
    assert record_audit_results(again, [SEL], [], NOW) is None


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
