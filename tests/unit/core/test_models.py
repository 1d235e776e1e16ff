from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from kubernaut_wfe.constants import AuditEventType, ConditionStatus, FailureReason, Phase
from kubernaut_wfe.core.models import (
    Condition,
    FailureDetails,
    PipelineRunRef,
    WorkflowExecution,
    WorkflowExecutionStatus,
    format_time,
)


def test_format_time_is_utc_whole_seconds_z() -> None:
    moment = datetime(2025, 6, 1, 12, 0, 5, 987000, tzinfo=timezone(timedelta(hours=2)))
    assert format_time(moment) == "2025-06-01T10:00:05Z"
    assert format_time(datetime(2025, 6, 1, 10, 0)) == "2025-06-01T10:00:00Z"


def test_status_to_api_is_camel_case_without_nulls() -> None:
    when = datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
    status = WorkflowExecutionStatus(
        phase=Phase.FAILED,
        start_time=when,
        pipeline_run_ref=PipelineRunRef(name="wfe-1"),
        failure_details=FailureDetails(
            reason=FailureReason.TASK_FAILED, message="m", failed_at=when
        ),
        conditions=[
            Condition(
                type="Ready",
                status=ConditionStatus.FALSE,
                reason="TaskFailed",
                last_transition_time=when,
                observed_generation=1,
            )
        ],
        audited_events=[AuditEventType.SELECTION_COMPLETED],
    )
    api = status.to_api()
    assert api["phase"] == "Failed"
    assert api["startTime"] == "2025-06-01T10:00:00Z"
    assert api["pipelineRunRef"] == {"name": "wfe-1"}
    assert "completionTime" not in api
    details = api["failureDetails"]
    assert set(details) >= {
        "failedTaskIndex",
        "failedTaskName",
        "reason",
        "message",
        "failedAt",
        "executionTimeBeforeFailure",
        "naturalLanguageSummary",
    }
    assert "exitCode" not in details
    assert api["conditions"][0]["lastTransitionTime"] == "2025-06-01T10:00:00Z"
    assert api["conditions"][0]["observedGeneration"] == 1
    assert api["auditedEvents"] == ["workflowexecution.selection.completed"]


def test_reading_ignores_unknown_fields_and_deprecated_status() -> None:
    wfe = WorkflowExecution.model_validate(
        {
            "metadata": {"name": "a", "unknown": 1},
            "spec": {"targetResource": "x/y", "future": True},
            "status": {"phase": "", "consecutiveFailures": 3, "auditedEvents": ["bogus"]},
        }
    )
    assert wfe.status.phase is None
    assert wfe.status.audited_events == []
    assert wfe.spec.target_resource == "x/y"
