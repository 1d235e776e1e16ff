"""The `workflow.failed` event of a WFE deleted while Running says so: reason Unknown, the
deletion as its end, and a message naming the cause (there is no status failure to report)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from openapi_schema_validator import OAS30Validator, oas30_format_checker

from kubernaut_wfe.constants import AuditEventType
from kubernaut_wfe.core.models import WorkflowExecution
from kubernaut_wfe.datastorage.events import (
    DELETED_WHILE_RUNNING,
    build_audit_event,
    serialize_audit_event,
)

STARTED = "2026-01-20T10:00:05Z"
DELETED = "2026-01-20T10:01:35Z"


def running_wfe(*, deleted: bool) -> WorkflowExecution:
    metadata: dict[str, Any] = {"name": "doomed", "namespace": "payments", "uid": "u-1"}
    if deleted:
        metadata["deletionTimestamp"] = DELETED
    return WorkflowExecution.model_validate(
        {
            "metadata": metadata,
            "spec": {
                "remediationRequestRef": {"name": "rr-1"},
                "workflowRef": {
                    "workflowId": "restart",
                    "version": "v1",
                    "containerImage": "ghcr.io/kubernaut/restart:v1",
                },
                "targetResource": "payments/deployment/api",
            },
            "status": {
                "phase": "Running",
                "startTime": STARTED,
                "pipelineRunRef": {"name": "wfe-abc"},
            },
        }
    )


def failed_payload(wfe: WorkflowExecution) -> dict[str, Any]:
    at = datetime(2026, 1, 20, 10, 1, 35, tzinfo=UTC)
    body = serialize_audit_event(build_audit_event(AuditEventType.WORKFLOW_FAILED, wfe, at=at))
    data: dict[str, Any] = body["event_data"]
    return data


def test_deleted_while_running_reports_the_deletion() -> None:
    data = failed_payload(running_wfe(deleted=True))
    assert data["phase"] == "Failed"
    assert data["failure_reason"] == "Unknown"
    assert data["failure_message"] == DELETED_WHILE_RUNNING
    assert data["completed_at"] == DELETED
    assert data["duration"] == "1m30s"
    assert data["pipelinerun_name"] == "wfe-abc"
    assert data["error_details"] == {
        "message": DELETED_WHILE_RUNNING,
        "code": "ERR_WORKFLOWEXECUTION_UNKNOWN",
        "component": "workflowexecution",
        "retry_possible": True,
    }


def test_running_and_not_deleted_has_no_failure_fields() -> None:
    data = failed_payload(running_wfe(deleted=False))
    assert not {"failure_reason", "failure_message", "completed_at", "error_details"} & set(data)


def test_deletion_event_is_valid_for_the_real_service(real_spec: dict[str, Any]) -> None:
    schema = {
        "$ref": "#/components/schemas/AuditEventRequest",
        "components": real_spec["components"],
    }
    validator = OAS30Validator(schema, format_checker=oas30_format_checker)
    at = datetime(2026, 1, 20, 10, 1, 35, tzinfo=UTC)
    body = serialize_audit_event(
        build_audit_event(AuditEventType.WORKFLOW_FAILED, running_wfe(deleted=True), at=at)
    )
    assert [error.message for error in validator.iter_errors(body)] == []
