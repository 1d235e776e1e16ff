"""The audit event builder: envelope and payload per ADR-034 v1.5, valid for the real service."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from kubernaut_wfe.constants import (
    AuditEventType,
    DataStorageContract,
    FailureReason,
    Label,
    Phase,
)
from kubernaut_wfe.core.models import WorkflowExecution
from kubernaut_wfe.datastorage import models
from kubernaut_wfe.datastorage.events import (
    audit_timestamp,
    build_audit_event,
    correlation_id_of,
    serialize_audit_event,
)

AT = datetime(2026, 1, 20, 10, 0, 30, tzinfo=UTC)
STARTED = datetime(2026, 1, 20, 10, 0, 5, tzinfo=UTC)
COMPLETED = datetime(2026, 1, 20, 10, 2, 35, tzinfo=UTC)


def make_wfe(*, status: dict[str, Any] | None = None, **overrides: Any) -> WorkflowExecution:
    document: dict[str, Any] = {
        "metadata": {
            "name": "restart-payment-api-abc12",
            "namespace": "payments",
            "uid": "0b7a4c1e-1111-2222-3333-444455556666",
            "labels": {Label.CORRELATION_ID: "label-correlation"},
        },
        "spec": {
            "remediationRequestRef": {"name": "rr-2026-001", "kind": "RemediationRequest"},
            "workflowRef": {
                "workflowId": "kubectl-restart-deployment",
                "version": "v1.0.0",
                "containerImage": "ghcr.io/kubernaut/restart:v1",
            },
            "targetResource": "payments/deployment/payment-api",
        },
        "status": status or {},
    }
    document.update(overrides)
    return WorkflowExecution.model_validate(document)


RUNNING = {
    "phase": "Running",
    "startTime": STARTED.isoformat(),
    "pipelineRunRef": {"name": "wfe-abc123"},
}
COMPLETED_STATUS = {
    **RUNNING,
    "phase": "Completed",
    "completionTime": COMPLETED.isoformat(),
    "duration": "2m30s",
}


def failed_status(reason: FailureReason, message: str = "task apply failed") -> dict[str, Any]:
    return {
        **RUNNING,
        "phase": "Failed",
        "completionTime": COMPLETED.isoformat(),
        "failureDetails": {
            "failedTaskIndex": 1,
            "failedTaskName": "apply",
            "reason": reason.value,
            "message": message,
            "failedAt": COMPLETED.isoformat(),
            "executionTimeBeforeFailure": "2m30s",
            "naturalLanguageSummary": "The apply task failed.",
        },
    }


ENVELOPES = [
    (AuditEventType.SELECTION_COMPLETED, "completed", "success", Phase.PENDING),
    (AuditEventType.EXECUTION_STARTED, "started", "success", Phase.RUNNING),
    (AuditEventType.WORKFLOW_COMPLETED, "completed", "success", Phase.COMPLETED),
    (AuditEventType.WORKFLOW_FAILED, "failed", "failure", Phase.FAILED),
]


@pytest.mark.parametrize(("event_type", "action", "outcome", "phase"), ENVELOPES)
def test_envelope_and_phase_per_event_type(
    event_type: AuditEventType, action: str, outcome: str, phase: Phase
) -> None:
    # The status phase is deliberately a different one: the event reports its own phase.
    body = serialize_audit_event(build_audit_event(event_type, make_wfe(status=RUNNING), at=AT))
    assert {key: value for key, value in body.items() if key != "event_data"} == {
        "version": "1.0",
        "event_type": event_type.value,
        "event_timestamp": "2026-01-20T10:00:30Z",
        "event_category": "workflowexecution",
        "event_action": action,
        "event_outcome": outcome,
        "actor_type": "service",
        "actor_id": "workflowexecution-controller",
        "resource_type": "WorkflowExecution",
        "resource_id": "restart-payment-api-abc12",
        "correlation_id": "rr-2026-001",
        "namespace": "payments",
    }
    assert body["event_data"]["event_type"] == body["event_type"]
    assert body["event_data"]["phase"] == phase.value


def test_selection_completed_payload_has_no_run_times() -> None:
    wfe = make_wfe(status={"pipelineRunRef": {"name": "wfe-abc123"}})
    body = serialize_audit_event(build_audit_event(AuditEventType.SELECTION_COMPLETED, wfe, at=AT))
    assert body["event_data"] == {
        "event_type": "workflowexecution.selection.completed",
        "workflow_id": "kubectl-restart-deployment",
        "workflow_version": "v1.0.0",
        "target_resource": "payments/deployment/payment-api",
        "phase": "Pending",
        "container_image": "ghcr.io/kubernaut/restart:v1",
        "execution_name": "restart-payment-api-abc12",
        "pipelinerun_name": "wfe-abc123",
    }


def test_execution_started_reports_the_run_and_its_start() -> None:
    event = build_audit_event(AuditEventType.EXECUTION_STARTED, make_wfe(status=RUNNING), at=AT)
    data = serialize_audit_event(event)["event_data"]
    assert data["pipelinerun_name"] == "wfe-abc123"
    assert data["started_at"] == "2026-01-20T10:00:05Z"
    assert "completed_at" not in data
    assert "duration" not in data


def test_workflow_completed_reports_times_and_duration() -> None:
    wfe = make_wfe(status=COMPLETED_STATUS)
    data = serialize_audit_event(build_audit_event(AuditEventType.WORKFLOW_COMPLETED, wfe, at=AT))[
        "event_data"
    ]
    assert (data["started_at"], data["completed_at"], data["duration"]) == (
        "2026-01-20T10:00:05Z",
        "2026-01-20T10:02:35Z",
        "2m30s",
    )
    assert not {"failure_reason", "failure_message", "error_details"} & data.keys()


@pytest.mark.parametrize(
    ("event_type", "status", "retries", "sent"),
    [
        (AuditEventType.WORKFLOW_COMPLETED, COMPLETED_STATUS, 2, 2),
        (AuditEventType.WORKFLOW_FAILED, failed_status(FailureReason.TASK_FAILED), 1, 1),
        (AuditEventType.WORKFLOW_COMPLETED, COMPLETED_STATUS, 0, None),
        (AuditEventType.EXECUTION_STARTED, RUNNING, 3, None),
    ],
)
def test_the_retries_a_job_tolerated_end_the_trail_only_when_there_were_some(
    event_type: AuditEventType, status: dict[str, Any], retries: int, sent: int | None
) -> None:
    execution = {"status": "True", "retryCount": retries}
    wfe = make_wfe(status={**status, "executionStatus": execution})
    data = serialize_audit_event(build_audit_event(event_type, wfe, at=AT))["event_data"]
    assert data.get("retry_count") == sent


def test_duration_is_computed_when_status_lacks_it() -> None:
    status = {key: value for key, value in COMPLETED_STATUS.items() if key != "duration"}
    event = build_audit_event(AuditEventType.WORKFLOW_COMPLETED, make_wfe(status=status), at=AT)
    assert event.event_data.duration == "2m30s"


def test_workflow_failed_carries_failure_details() -> None:
    wfe = make_wfe(status=failed_status(FailureReason.OOM_KILLED, "container killed"))
    data = serialize_audit_event(build_audit_event(AuditEventType.WORKFLOW_FAILED, wfe, at=AT))[
        "event_data"
    ]
    assert data["failure_reason"] == "OOMKilled"
    assert data["failure_message"] == "container killed"
    assert data["failed_task_name"] == "apply"
    assert data["error_details"] == {
        "message": "container killed",
        "code": "ERR_WORKFLOWEXECUTION_OOM_KILLED",
        "component": "workflowexecution",
        "retry_possible": True,
    }


@pytest.mark.parametrize("reason", [FailureReason.DEDUPLICATED, FailureReason.UNSUPPORTED_ENGINE])
def test_newest_reasons_are_recorded_as_themselves(reason: FailureReason) -> None:
    wfe = make_wfe(status=failed_status(reason, "locked by wfe other-1"))
    data = build_audit_event(AuditEventType.WORKFLOW_FAILED, wfe, at=AT).event_data
    assert data.failure_reason == reason.value
    assert data.failure_message == "locked by wfe other-1"


@pytest.mark.parametrize("reason", [FailureReason.DEDUPLICATED, FailureReason.UNSUPPORTED_ENGINE])
def test_a_january_datastorage_gets_them_as_unknown_naming_the_reason(
    reason: FailureReason,
) -> None:
    wfe = make_wfe(status=failed_status(reason, "locked by wfe other-1"))
    data = build_audit_event(
        AuditEventType.WORKFLOW_FAILED, wfe, at=AT, contract=DataStorageContract.JANUARY_2026
    ).event_data
    assert data.failure_reason is models.FailureReason.UNKNOWN
    assert data.failure_message == f"{reason}: locked by wfe other-1"


def test_failed_without_a_run_omits_every_optional_field() -> None:
    wfe = make_wfe(status={"phase": "Failed"})
    body = serialize_audit_event(build_audit_event(AuditEventType.WORKFLOW_FAILED, wfe, at=AT))
    assert set(body["event_data"]) == {
        "event_type",
        "workflow_id",
        "workflow_version",
        "target_resource",
        "phase",
        "container_image",
        "execution_name",
    }
    assert None not in body.values()
    assert "" not in body["event_data"].values()


@pytest.mark.parametrize(
    ("reference", "labels", "expected"),
    [
        ("rr-1", {Label.CORRELATION_ID: "from-label"}, "rr-1"),
        ("", {Label.CORRELATION_ID: "from-label"}, "from-label"),
        ("", {}, "restart-payment-api-abc12"),
    ],
)
def test_correlation_id_fallback_chain(
    reference: str, labels: dict[str, str], expected: str
) -> None:
    wfe = make_wfe()
    wfe.spec.remediation_request_ref.name = reference
    wfe.metadata.labels = labels
    assert correlation_id_of(wfe) == expected
    assert build_audit_event(AuditEventType.WORKFLOW_FAILED, wfe, at=AT).correlation_id == expected


def test_timestamp_is_utc_whole_seconds() -> None:
    local = datetime(2026, 1, 20, 12, 0, 30, 987654, tzinfo=timezone(timedelta(hours=2)))
    assert audit_timestamp(local) == AT
    assert audit_timestamp(AT.replace(tzinfo=None)) == AT


@pytest.mark.parametrize(
    "status",
    [
        {},
        RUNNING,
        COMPLETED_STATUS,
        *(failed_status(reason) for reason in FailureReason),
        failed_status(FailureReason.UNKNOWN, ""),
    ],
)
@pytest.mark.parametrize("event_type", list(AuditEventType))
def test_every_built_event_is_valid_for_the_real_service(
    real_spec: dict[str, Any], event_type: AuditEventType, status: dict[str, Any]
) -> None:
    schema = {
        "$ref": "#/components/schemas/AuditEventRequest",
        "components": real_spec["components"],
    }
    validator = OAS30Validator(schema, format_checker=oas30_format_checker)
    body = serialize_audit_event(build_audit_event(event_type, make_wfe(status=status), at=AT))
    assert [error.message for error in validator.iter_errors(body)] == []


def test_built_event_round_trips_through_the_generated_union() -> None:
    event = build_audit_event(AuditEventType.EXECUTION_STARTED, make_wfe(status=RUNNING), at=AT)
    parsed = models.AuditEventRequest.model_validate(serialize_audit_event(event))
    assert isinstance(parsed.event_data, models.WorkflowExecutionAuditPayload)
    assert parsed == event


def catalog_wfe(status: dict[str, Any] | None = None, cluster_id: str = "") -> WorkflowExecution:
    """A catalog snapshot declaring only REPLICAS, with a parameter it does not declare."""
    wfe = make_wfe(status=status)
    ref = wfe.spec.workflow_ref.model_copy(
        update={
            "container_image": "",
            "execution_bundle": "quay.io/kubernaut/workflows/restart:v2",
            "workflow_name": "restart-deployment",
            "action_type": "RestartPod",
            "declared_parameter_names": {"REPLICAS": True},
        }
    )
    spec = wfe.spec.model_copy(
        update={
            "workflow_ref": ref,
            "parameters": {"REPLICAS": "3", "API_TOKEN": "s3cr3t-never-passed"},
            "cluster_id": cluster_id,
        }
    )
    return wfe.model_copy(update={"spec": spec})


CATALOG_STATUSES = [{}, RUNNING, COMPLETED_STATUS, failed_status(FailureReason.TASK_FAILED)]


@pytest.mark.parametrize("status", CATALOG_STATUSES)
@pytest.mark.parametrize("event_type", list(AuditEventType))
def test_every_event_of_a_catalog_snapshot_names_its_workflow_and_action(
    event_type: AuditEventType, status: dict[str, Any]
) -> None:
    body = serialize_audit_event(build_audit_event(event_type, catalog_wfe(status), at=AT))
    data = body["event_data"]
    assert (data["workflow_name"], data["action_type"]) == ("restart-deployment", "RestartPod")
    assert data["container_image"] == "quay.io/kubernaut/workflows/restart:v2"
    # Upstream sends the unfiltered spec.parameters: a value the filter kept from the run.
    assert "s3cr3t-never-passed" not in json.dumps(body)
    ran = "pipelineRunRef" in status and event_type is not AuditEventType.SELECTION_COMPLETED
    if ran:
        assert data["parameters"] == {
            "REPLICAS": "3",
            "TARGET_RESOURCE": "payments/deployment/payment-api",
        }
    else:
        assert "parameters" not in data


def test_the_envelope_names_a_remote_cluster_to_the_newest_datastorage_only() -> None:
    wfe = catalog_wfe(failed_status(FailureReason.CONFIGURATION_ERROR), cluster_id="spoke-1")
    newest = build_audit_event(AuditEventType.WORKFLOW_FAILED, wfe, at=AT)
    january = build_audit_event(
        AuditEventType.WORKFLOW_FAILED, wfe, at=AT, contract=DataStorageContract.JANUARY_2026
    )
    assert newest.cluster_id == "spoke-1"
    assert "cluster_id" not in serialize_audit_event(january)
    assert "cluster_id" not in serialize_audit_event(
        build_audit_event(AuditEventType.WORKFLOW_FAILED, catalog_wfe(), at=AT)
    )


def test_a_january_datastorage_gets_none_of_the_newest_fields() -> None:
    wfe = catalog_wfe(COMPLETED_STATUS)
    data = serialize_audit_event(
        build_audit_event(
            AuditEventType.WORKFLOW_COMPLETED, wfe, at=AT, contract=DataStorageContract.JANUARY_2026
        )
    )["event_data"]
    assert not {"workflow_name", "action_type", "parameters", "retry_count"} & set(data)


@pytest.mark.parametrize("contract", list(DataStorageContract))
@pytest.mark.parametrize(
    "status",
    [*CATALOG_STATUSES, *(failed_status(reason) for reason in FailureReason)],
)
@pytest.mark.parametrize("event_type", list(AuditEventType))
def test_every_catalog_event_is_valid_for_the_datastorage_it_is_for(
    real_spec: dict[str, Any],
    january_spec: dict[str, Any],
    contract: DataStorageContract,
    event_type: AuditEventType,
    status: dict[str, Any],
) -> None:
    spec = real_spec if contract is DataStorageContract.AUGUST_2026 else january_spec
    schema = {"$ref": "#/components/schemas/AuditEventRequest", "components": spec["components"]}
    validator = OAS30Validator(schema, format_checker=oas30_format_checker)
    event = build_audit_event(
        event_type, catalog_wfe(status, cluster_id="spoke-1"), at=AT, contract=contract
    )
    body = serialize_audit_event(event)
    assert [error.message for error in validator.iter_errors(body)] == []
