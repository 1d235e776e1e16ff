"""The timeline's pure parts: views of WFEs, what changed, progress lines."""

from __future__ import annotations

from typing import Any

import pytest

from kubernaut_wfe_tools.sandbox.timeline import WfeView, describe_changes, progress_line, view_of


def wfe(status: dict[str, Any] | None = None, name: str = "hello") -> dict[str, Any]:
    obj: dict[str, Any] = {"metadata": {"namespace": "default", "name": name}}
    if status is not None:
        obj["status"] = status
    return obj


def audit(status: str, reason: str) -> dict[str, Any]:
    return {"type": "AuditRecorded", "status": status, "reason": reason}


FAILED = {
    "phase": "Failed",
    "pipelineRunRef": {"name": "wfe-1"},
    "failureDetails": {
        "reason": "TaskFailed",
        "wasExecutionFailure": True,
        "message": "step exited 1\nsecond line",
    },
    "auditedEvents": ["workflowexecution.selection.completed"],
    "conditions": [audit("False", "AuditPending")],
}


def test_view_of_reads_every_shown_field() -> None:
    view = view_of(wfe(FAILED))

    assert view == WfeView(
        key="default/hello",
        phase="Failed",
        run="wfe-1",
        failure_reason="TaskFailed",
        was_execution_failure=True,
        message="step exited 1",
        audited=("workflowexecution.selection.completed",),
        audit_status="False",
        audit_reason="AuditPending",
    )


def test_view_of_a_new_object_is_empty() -> None:
    assert view_of(wfe()) == WfeView(key="default/hello")


def test_long_failure_messages_are_cut() -> None:
    status = {"phase": "Failed", "failureDetails": {"message": "x" * 500}}

    message = view_of(wfe(status)).message

    assert len(message) == 160
    assert message.endswith("…")


@pytest.mark.parametrize(
    ("phase", "reason", "settled"),
    [
        ("Completed", "AuditSucceeded", True),
        ("Failed", "AuditFailed", True),
        ("Failed", "AuditPending", False),
        ("Completed", "", False),
        ("Running", "AuditSucceeded", False),
        ("", "", False),
    ],
)
def test_settled_means_terminal_and_audit_no_longer_pending(
    phase: str, reason: str, settled: bool
) -> None:
    assert WfeView(key="k", phase=phase, audit_reason=reason).settled is settled


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (None, {}, ["created"]),
        (None, {"phase": "Running", "pipelineRunRef": {"name": "wfe-1"}},
         ["seen in phase Running (PipelineRun wfe-1)"]),
        ({}, {"phase": "Running", "pipelineRunRef": {"name": "wfe-1"}},
         ["Running (PipelineRun wfe-1)"]),
        ({"phase": "Running"}, {"phase": "Completed", "duration": "4s"}, ["Completed in 4s"]),
        ({"phase": "Running"}, FAILED, [
            "Failed reason=TaskFailed wasExecutionFailure=true: step exited 1",
            "audit recorded: selection.completed",
            "AuditRecorded False/AuditPending",
        ]),
        ({}, {"phase": "Pending", "conditions": [
            {"type": "ResourceLocked", "status": "True", "reason": "RecentlyRemediated"}]},
         ["Pending (RecentlyRemediated: the target is in its cooldown)"]),
        ({"phase": "Running"}, {"phase": "Running", "rejectedAuditEvents": [
            "workflowexecution.execution.started"]},
         ["audit REJECTED by DataStorage: execution.started"]),
        (FAILED, FAILED, []),
    ],
)  # fmt: skip
def test_describe_changes(
    old: dict[str, Any] | None, new: dict[str, Any], expected: list[str]
) -> None:
    before = None if old is None else view_of(wfe(old))

    assert describe_changes(before, view_of(wfe(new))) == expected


def test_a_deleted_wfe_is_reported_once() -> None:
    view = view_of(wfe(FAILED))

    assert describe_changes(view, None) == ["deleted"]
    assert describe_changes(None, None) == []


def test_progress_line_shows_phase_reason_and_audit() -> None:
    line = progress_line(view_of(wfe(FAILED)), key_width=20)

    assert line.split() == ["·", "default/hello", "Failed", "TaskFailed", "audit", "1",
                            "AuditPending"]  # fmt: skip
