from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kubernaut_wfe.constants import ConditionStatus
from kubernaut_wfe.core.models import PipelineRunSummary
from kubernaut_wfe.core.runstatus import completed_count, nothing_started, run_summary

Factory = Callable[..., dict[str, Any]]
QUOTA_MESSAGE = (
    'TaskRun Pod exceeded available resources: pods "wfe-f3457dcc8fbcb6d9-apply-pod" is'
    " forbidden: exceeded quota: small, requested: cpu=2, used: cpu=0, limited: cpu=1"
)


def test_unknown_without_condition() -> None:
    summary = run_summary({"metadata": {"name": "x"}})
    assert summary == PipelineRunSummary(status=ConditionStatus.UNKNOWN)


def test_running_document(running_run: dict[str, Any]) -> None:
    summary = run_summary(running_run)
    assert summary.status == ConditionStatus.UNKNOWN
    assert summary.reason == "Running"
    assert summary.completed_tasks == 1
    assert summary.total_tasks == 2


def test_succeeded_document(succeeded_run: dict[str, Any]) -> None:
    summary = run_summary(succeeded_run)
    assert (summary.status, summary.reason, summary.completed_tasks, summary.total_tasks) == (
        ConditionStatus.TRUE,
        "Succeeded",
        2,
        2,
    )


def test_totals_from_child_references_without_pipeline_spec(failed_run: dict[str, Any]) -> None:
    summary = run_summary(failed_run)
    assert summary.total_tasks == 2
    assert summary.completed_tasks == 2
    assert summary.status == ConditionStatus.FALSE


def test_totals_count_finally_tasks(running_run: dict[str, Any]) -> None:
    running_run["status"]["pipelineSpec"]["finally"] = [{"name": "cleanup"}]
    assert run_summary(running_run).total_tasks == 3


def test_no_totals_before_resolution(make_run: Factory) -> None:
    run = make_run("ResolvingPipelineRef", "PipelineRun ns/pr awaiting remote resource", "Unknown")
    summary = run_summary(run)
    assert summary.total_tasks is None
    assert summary.completed_tasks is None


@pytest.mark.parametrize(
    ("message", "count"),
    [
        ("Tasks Completed: 0 (Failed: 0, Cancelled 0), Incomplete: 3, Skipped: 0", 0),
        ("Tasks Completed: 12 (Failed: 1 (Ignored: 1), Cancelled 0), Skipped: 0", 12),
        ('PipelineRun "x" was cancelled', None),
        ("", None),
    ],
)
def test_completed_count(message: str, count: int | None) -> None:
    assert completed_count(message) == count


def test_blocked_reason_captured_from_child(
    running_run: dict[str, Any], make_taskrun: Factory
) -> None:
    stuck = make_taskrun(
        "apply", "ExceededResourceQuota", QUOTA_MESSAGE, status="Unknown", pod=False
    )
    summary = run_summary(running_run, [stuck])
    assert summary.blocked_reason == "ExceededResourceQuota"
    assert summary.blocked_message == QUOTA_MESSAGE


def test_blocked_reason_kept_after_tekton_erases_it(
    timeout_run: dict[str, Any], cancelled_taskrun: dict[str, Any]
) -> None:
    previous = PipelineRunSummary(blocked_reason="ExceededResourceQuota", blocked_message="q")
    summary = run_summary(timeout_run, [cancelled_taskrun], previous)
    assert (summary.blocked_reason, summary.blocked_message) == ("ExceededResourceQuota", "q")
    assert summary.reason == "PipelineRunTimeout"


def test_running_children_are_not_blocked(
    running_run: dict[str, Any], make_taskrun: Factory
) -> None:
    child = make_taskrun("apply", "Running", "Not all Steps", status="Unknown")
    assert run_summary(running_run, [child]).blocked_reason is None


@pytest.mark.parametrize(
    ("summary", "expected"),
    [
        (None, True),
        (PipelineRunSummary(reason="ResolvingPipelineRef"), True),
        (
            PipelineRunSummary(
                reason="Running",
                completed_tasks=0,
                total_tasks=1,
                blocked_reason="ExceededResourceQuota",
            ),
            True,
        ),
        (PipelineRunSummary(reason="Running", completed_tasks=1, total_tasks=2), False),
        (PipelineRunSummary(reason="Running", completed_tasks=0, total_tasks=2), False),
    ],
)
def test_nothing_started(summary: PipelineRunSummary | None, expected: bool) -> None:
    assert nothing_started(summary) is expected
