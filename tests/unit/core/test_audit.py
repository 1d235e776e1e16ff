from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from kubernaut_wfe.constants import AuditEventType, ConditionReason, ConditionStatus
from kubernaut_wfe.core.audit import (
    audit_condition,
    audit_condition_state,
    correlation_id,
    due_audit_events,
    undelivered_audit_events,
)
from kubernaut_wfe.core.validation import parse_wfe

Factory = Callable[..., dict[str, Any]]
SEL, STA, COM, FAI = (
    AuditEventType.SELECTION_COMPLETED,
    AuditEventType.EXECUTION_STARTED,
    AuditEventType.WORKFLOW_COMPLETED,
    AuditEventType.WORKFLOW_FAILED,
)
START = "2025-06-01T10:00:00Z"
END = "2025-06-01T10:01:30Z"
T_START = datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
T_END = datetime(2025, 6, 1, 10, 1, 30, tzinfo=UTC)
T_CREATED = datetime(2025, 6, 1, 9, 59, tzinfo=UTC)  # make_wfe's creationTimestamp


def _cond(kind: str, status: str, reason: str, when: str = END) -> dict[str, Any]:
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": "",
        "lastTransitionTime": when,
    }


def _details(reason: str) -> dict[str, Any]:
    return {
        "failedTaskIndex": 0,
        "failedTaskName": "",
        "reason": reason,
        "message": "m",
        "failedAt": END,
        "executionTimeBeforeFailure": "",
        "naturalLanguageSummary": "",
    }


RUN_REF = {"pipelineRunRef": {"name": "wfe-f3457dcc8fbcb6d9"}, "startTime": START}


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({}, []),
        ({"phase": "Pending"}, []),
        ({"phase": "Running", **RUN_REF}, [(SEL, T_START), (STA, T_START)]),
        (
            {"phase": "Completed", **RUN_REF, "completionTime": END},
            [(SEL, T_START), (STA, T_START), (COM, T_END)],
        ),
        (
            {
                "phase": "Failed",
                **RUN_REF,
                "completionTime": END,
                "failureDetails": _details("TaskFailed"),
            },
            [(SEL, T_START), (STA, T_START), (FAI, T_END)],
        ),
        (
            {
                "phase": "Failed",
                "completionTime": END,
                "failureDetails": _details("Forbidden"),
                "conditions": [_cond("TektonPipelineCreated", "False", "RBACDenied", START)],
            },
            [(SEL, T_START), (FAI, T_END)],
        ),
        (
            {
                "phase": "Failed",
                "pipelineRunRef": RUN_REF["pipelineRunRef"],
                "failureDetails": _details("Unknown"),
            },
            [(SEL, T_END), (STA, T_END), (FAI, T_END)],
        ),
        (
            {"phase": "Running", "pipelineRunRef": RUN_REF["pipelineRunRef"]},
            [(SEL, T_CREATED), (STA, T_CREATED)],
        ),
        (
            {
                "phase": "Failed",
                "completionTime": END,
                "failureDetails": _details("ConfigurationError"),
            },
            [(FAI, T_END)],
        ),
        ({"phase": "Failed", "failureDetails": _details("Deduplicated")}, [(FAI, T_END)]),
    ],
)
def test_due_events_per_lifecycle(
    make_wfe: Factory, status: dict[str, Any], expected: list[tuple[AuditEventType, datetime]]
) -> None:
    due = due_audit_events(parse_wfe(make_wfe(status=status)))
    assert [(event.event_type, event.timestamp) for event in due] == expected


def test_deleted_while_running_owes_failed_at_deletion_time(make_wfe: Factory) -> None:
    raw = make_wfe(status={"phase": "Running", **RUN_REF}, deletionTimestamp="2025-06-01T10:05:00Z")
    due = due_audit_events(parse_wfe(raw))
    assert due[-1].event_type == FAI
    assert due[-1].timestamp == datetime(2025, 6, 1, 10, 5, tzinfo=UTC)


def test_deleted_while_pending_owes_nothing(make_wfe: Factory) -> None:
    raw = make_wfe(status={"phase": "Pending"}, deletionTimestamp="2025-06-01T10:05:00Z")
    assert due_audit_events(parse_wfe(raw)) == []


def test_undelivered_skips_audited_and_rejected(make_wfe: Factory) -> None:
    status = {
        "phase": "Completed",
        **RUN_REF,
        "completionTime": END,
        "auditedEvents": [SEL.value],
        "rejectedAuditEvents": [STA.value],
    }
    pending = undelivered_audit_events(parse_wfe(make_wfe(status=status)))
    assert [event.event_type for event in pending] == [COM]


@pytest.mark.parametrize(
    ("spec_name", "label", "name", "expected"),
    [
        ("rr-1", "label-id", "wfe", "rr-1"),
        ("", "label-id", "wfe", "label-id"),
        ("", None, "wfe", "wfe"),
    ],
)
def test_correlation_id_fallbacks(
    make_wfe: Factory, spec_name: str, label: str | None, name: str, expected: str
) -> None:
    raw = make_wfe(name=name, labels={"kubernaut.ai/correlation-id": label} if label else {})
    raw["spec"]["remediationRequestRef"]["name"] = spec_name
    assert correlation_id(parse_wfe(raw)) == expected


@pytest.mark.parametrize(
    ("due", "audited", "rejected", "expected"),
    [
        ([], [], [], None),
        ([SEL], [], [], (ConditionStatus.FALSE, ConditionReason.AUDIT_PENDING)),
        ([SEL, STA], [SEL], [], (ConditionStatus.FALSE, ConditionReason.AUDIT_PENDING)),
        ([SEL, STA], [SEL, STA], [], (ConditionStatus.TRUE, ConditionReason.AUDIT_SUCCEEDED)),
        ([SEL, STA], [SEL], [STA], (ConditionStatus.FALSE, ConditionReason.AUDIT_FAILED)),
        ([SEL], [SEL, STA], [], (ConditionStatus.TRUE, ConditionReason.AUDIT_SUCCEEDED)),
    ],
)
def test_audit_condition_state(
    due: list[AuditEventType],
    audited: list[AuditEventType],
    rejected: list[AuditEventType],
    expected: tuple[ConditionStatus, ConditionReason] | None,
) -> None:
    state = audit_condition_state(due, audited, rejected)
    assert (state[:2] if state else None) == expected


def test_audit_condition_sets_audit_recorded() -> None:
    conditions = audit_condition([], [SEL], [SEL], [], generation=4, now=T_END)
    assert [(c.type, c.status, c.reason, c.observed_generation) for c in conditions] == [
        ("AuditRecorded", ConditionStatus.TRUE, "AuditSucceeded", 4)
    ]
    assert audit_condition([], [], [], [], generation=1, now=T_END) == []
