"""The status write's pure helpers: merge patches and audit bookkeeping."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kubernaut_wfe.constants import AuditEventType, ConditionType, Phase
from kubernaut_wfe.core.models import PipelineRunRef, WorkflowExecution, WorkflowExecutionStatus
from kubernaut_wfe.reconcile.status import fold_audit_outcomes, merge_patch

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("old", "new", "patch"),
    [
        ({}, {"a": 1}, {"a": 1}),
        ({"a": 1, "b": 2}, {"a": 1}, {"a": 1, "b": None}),
        ({"s": {"x": 1, "y": 2}}, {"s": {"x": 3}}, {"s": {"x": 3, "y": None}}),
        ({"l": [1, 2]}, {"l": [3]}, {"l": [3]}),
        ({"s": {"x": 1}}, {"s": 5}, {"s": 5}),
    ],
)
def test_merge_patch(old: dict[str, Any], new: dict[str, Any], patch: dict[str, Any]) -> None:
    assert merge_patch(old, new) == patch


def running_wfe(audited: list[AuditEventType]) -> WorkflowExecution:
    return WorkflowExecution.model_validate(
        {
            "metadata": {"name": "w", "namespace": "ns", "uid": "u", "generation": 1},
            "spec": {"targetResource": "ns/deployment/x"},
            "status": WorkflowExecutionStatus(
                phase=Phase.RUNNING,
                start_time=NOW,
                pipeline_run_ref=PipelineRunRef(name="wfe-x"),
                audited_events=audited,
            ).to_api(),
        }
    )


def audit_condition(status: WorkflowExecutionStatus) -> tuple[str, str]:
    found = status.condition(ConditionType.AUDIT_RECORDED)
    assert found is not None
    return found.status.value, found.reason


def test_acknowledged_events_are_recorded_and_the_condition_turns_true() -> None:
    wfe = running_wfe([AuditEventType.SELECTION_COMPLETED])
    folded = fold_audit_outcomes(wfe, wfe.status, {AuditEventType.EXECUTION_STARTED}, {}, NOW)
    assert folded.audited_events == [
        AuditEventType.SELECTION_COMPLETED,
        AuditEventType.EXECUTION_STARTED,
    ]
    assert audit_condition(folded) == ("True", "AuditSucceeded")


def test_partial_acknowledgement_leaves_the_condition_pending() -> None:
    wfe = running_wfe([])
    folded = fold_audit_outcomes(wfe, wfe.status, {AuditEventType.SELECTION_COMPLETED}, {}, NOW)
    assert audit_condition(folded) == ("False", "AuditPending")


def test_a_rejected_event_makes_the_condition_failed() -> None:
    wfe = running_wfe([AuditEventType.SELECTION_COMPLETED])
    folded = fold_audit_outcomes(
        wfe, wfe.status, set(), {AuditEventType.EXECUTION_STARTED: "bad payload"}, NOW
    )
    assert folded.rejected_audit_events == [AuditEventType.EXECUTION_STARTED]
    assert audit_condition(folded) == ("False", "AuditFailed")


def test_folding_twice_records_each_type_once() -> None:
    wfe = running_wfe([AuditEventType.SELECTION_COMPLETED])
    acknowledged = {AuditEventType.SELECTION_COMPLETED}
    folded = fold_audit_outcomes(wfe, wfe.status, acknowledged, {}, NOW)
    assert folded.audited_events == [AuditEventType.SELECTION_COMPLETED]
