"""The WorkflowExecution CRD itself: valid for Kubernetes 1.31, packaged copy, and its rules."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from kubernaut_wfe import constants
from kubernaut_wfe.constants import AuditEventType, FailureReason, Phase
from kubernaut_wfe_tools.crdschema import (
    CauseType,
    CustomResourceSchema,
    FieldError,
    packaged_crd_path,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
CRD_PATH = REPO_ROOT / "deploy" / "crds" / "kubernaut.ai_workflowexecutions.yaml"

FULL_STATUS: dict[str, Any] = {
    "phase": "Failed",
    "observedGeneration": 1,
    "startTime": "2026-01-09T10:00:00Z",
    "completionTime": "2026-01-09T10:02:30Z",
    "duration": "2m30s",
    "pipelineRunRef": {"name": "wfe-f3457dcc8fbcb6d9"},
    "pipelineRunStatus": {
        "status": "False",
        "reason": "Failed",
        "message": "Tasks Completed: 1 (Failed: 1, Cancelled 0), Skipped: 0",
        "completedTasks": 1,
        "totalTasks": 1,
        "blockedReason": "",
        "blockedMessage": "",
    },
    "failureDetails": {
        "failedTaskIndex": 0,
        "failedTaskName": "fail-task",
        "failedStepName": "fail",
        "reason": "TaskFailed",
        "message": '"step-fail" exited with code 1: Error',
        "exitCode": 1,
        "failedAt": "2026-01-09T10:02:30Z",
        "executionTimeBeforeFailure": "2m30s",
        "wasExecutionFailure": True,
        "naturalLanguageSummary": "Workflow failing failed on default/deployment/nginx.",
    },
    "conditions": [
        {
            "type": "Ready",
            "status": "False",
            "observedGeneration": 1,
            "lastTransitionTime": "2026-01-09T10:02:30Z",
            "reason": "TaskFailed",
            "message": "failed",
        },
        {
            "type": "TektonPipelineCreated",
            "status": "True",
            "lastTransitionTime": "2026-01-09T10:00:00Z",
            "reason": "PipelineCreated",
            "message": "",
        },
    ],
    "auditedEvents": [
        str(AuditEventType.SELECTION_COMPLETED),
        str(AuditEventType.EXECUTION_STARTED),
    ],
    "rejectedAuditEvents": [str(AuditEventType.WORKFLOW_FAILED)],
    "consecutiveFailures": 0,
    "nextAllowedExecution": "2026-01-09T10:07:30Z",
    "blockClearance": {"clearedBy": "ops", "clearedAt": "2026-01-09T10:07:30Z"},
    "failureReason": "legacy",
}


def test_crd_is_a_valid_kubernetes_1_31_customresourcedefinition(wfe_crd: dict[str, Any]) -> None:
    assert kubernetes_validate.validate(wfe_crd, "1.31", strict=True) == "1.31"


def test_packaged_copy_is_identical() -> None:
    assert packaged_crd_path().read_bytes() == CRD_PATH.read_bytes(), (
        "tools/src/kubernaut_wfe_tools/data/kubernaut.ai_workflowexecutions.yaml is stale:"
        " run `make generate`"
    )


def test_names_scope_and_subresources(
    wfe_schema: CustomResourceSchema, wfe_crd: dict[str, Any]
) -> None:
    assert wfe_crd["metadata"]["name"] == constants.CRD_NAME
    assert wfe_schema.api_version == constants.API_VERSION
    assert wfe_schema.names.kind == constants.KIND
    assert wfe_schema.names.plural == constants.PLURAL
    assert wfe_schema.names.short_names == ("wfe",)
    assert wfe_schema.names.list_kind == "WorkflowExecutionList"
    assert wfe_schema.namespaced
    assert wfe_schema.has_status_subresource
    assert wfe_schema.storage


def test_printer_columns(wfe_schema: CustomResourceSchema) -> None:
    columns = [
        (column.name, column.json_path, column.priority, column.type)
        for column in wfe_schema.printer_columns
    ]
    assert columns == [
        ("Phase", ".status.phase", 0, "string"),
        ("Workflow", ".spec.workflowRef.workflowName", 0, "string"),
        ("WorkflowID", ".spec.workflowRef.workflowId", 1, "string"),
        ("Target", ".spec.targetResource", 0, "string"),
        ("Duration", ".status.duration", 0, "string"),
        ("Reason", '.status.conditions[?(@.type=="Ready")].reason', 1, "string"),
        ("Age", ".metadata.creationTimestamp", 0, "date"),
    ]


def test_the_remediation_request_name_is_a_selectable_field(wfe_crd: dict[str, Any]) -> None:
    (version,) = wfe_crd["spec"]["versions"]
    assert version["selectableFields"] == [{"jsonPath": ".spec.remediationRequestRef.name"}]


def _walk(schema: dict[str, Any], path: str) -> list[tuple[str, dict[str, Any]]]:
    nodes = [(path, schema)]
    for name, child in (schema.get("properties") or {}).items():
        nodes += _walk(child, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        nodes += _walk(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        nodes += _walk(schema["additionalProperties"], f"{path}{{}}")
    return nodes


def test_every_spec_and_status_field_has_a_description(wfe_schema: CustomResourceSchema) -> None:
    root = dict(wfe_schema.openapi_schema)
    undocumented = [
        path
        for section in ("spec", "status")
        for path, node in _walk(root["properties"][section], section)
        if not node.get("description") and not path.endswith(("[]", "{}"))
    ]
    assert undocumented == []


def test_the_enums_match_the_constants(wfe_schema: CustomResourceSchema) -> None:
    status = wfe_schema.openapi_schema["properties"]["status"]["properties"]
    assert status["phase"]["enum"] == [str(p) for p in Phase]
    assert status["failureDetails"]["properties"]["reason"]["enum"] == [
        str(r) for r in FailureReason
    ]
    for field in ("auditedEvents", "rejectedAuditEvents"):
        assert status[field]["items"]["enum"] == [str(e) for e in AuditEventType]
        assert status[field]["x-kubernetes-list-type"] == "set"


def test_a_valid_wfe_with_a_full_status_is_accepted(
    wfe_schema: CustomResourceSchema, wfe: dict[str, Any]
) -> None:
    wfe["status"] = copy.deepcopy(FULL_STATUS)
    assert wfe_schema.validate(wfe) == []
    pruned, unknown = wfe_schema.prune(wfe)
    assert unknown == []
    assert pruned == wfe


def test_unknown_status_fields_are_pruned(
    wfe_schema: CustomResourceSchema, wfe: dict[str, Any]
) -> None:
    wfe["status"] = {
        "phase": "Running",
        "lockHolder": "x",
        "pipelineRunRef": {"name": "r", "namespace": "n"},
    }
    pruned, unknown = wfe_schema.prune(wfe)
    assert pruned["status"] == {"phase": "Running", "pipelineRunRef": {"name": "r"}}
    assert unknown == [".status.lockHolder", ".status.pipelineRunRef.namespace"]


STATUS_REJECTIONS: list[tuple[str, dict[str, Any], str, str]] = [
    ("phase outside the enum", {"phase": "Skipped"}, "status.phase", CauseType.NOT_SUPPORTED),
    ("empty phase", {"phase": ""}, "status.phase", CauseType.NOT_SUPPORTED),
    (
        "failure reason outside the enum",
        {
            "failureDetails": {
                **FULL_STATUS["failureDetails"],
                "reason": "PipelineRunCreationFailed",
            }
        },
        "status.failureDetails.reason",
        CauseType.NOT_SUPPORTED,
    ),
    (
        "failure details without naturalLanguageSummary",
        {
            "failureDetails": {
                k: v
                for k, v in FULL_STATUS["failureDetails"].items()
                if k != "naturalLanguageSummary"
            }
        },
        "status.failureDetails.naturalLanguageSummary",
        CauseType.REQUIRED,
    ),
    (
        "failure message too long",
        {"failureDetails": {**FULL_STATUS["failureDetails"], "message": "x" * 4097}},
        "status.failureDetails.message",
        CauseType.TOO_LONG,
    ),
    (
        "audited events duplicate",
        {"auditedEvents": [str(AuditEventType.WORKFLOW_FAILED)] * 2},
        "status.auditedEvents[1]",
        CauseType.DUPLICATE,
    ),
    (
        "audited event outside the enum",
        {"auditedEvents": ["workflowexecution.workflow.started"]},
        "status.auditedEvents[0]",
        CauseType.NOT_SUPPORTED,
    ),
    (
        "condition reason with a space",
        {"conditions": [{**FULL_STATUS["conditions"][0], "reason": "Task Failed"}]},
        "status.conditions[0].reason",
        CauseType.INVALID,
    ),
    (
        "condition message too long",
        {"conditions": [{**FULL_STATUS["conditions"][0], "message": "m" * 32769}]},
        "status.conditions[0].message",
        CauseType.TOO_LONG,
    ),
    (
        "duplicate condition type",
        {"conditions": [FULL_STATUS["conditions"][0], FULL_STATUS["conditions"][0]]},
        "status.conditions[1]",
        CauseType.DUPLICATE,
    ),
    (
        "pipelineRunStatus without status",
        {"pipelineRunStatus": {"reason": "Running"}},
        "status.pipelineRunStatus.status",
        CauseType.REQUIRED,
    ),
    (
        "startTime not a date-time",
        {"startTime": "10:00"},
        "status.startTime",
        CauseType.TYPE_INVALID,
    ),
]


@pytest.mark.parametrize(
    ("status", "field", "reason"),
    [c[1:] for c in STATUS_REJECTIONS],
    ids=[c[0] for c in STATUS_REJECTIONS],
)
def test_status_rejections_name_the_field(
    wfe_schema: CustomResourceSchema,
    wfe: dict[str, Any],
    status: dict[str, Any],
    field: str,
    reason: str,
) -> None:
    wfe["status"] = status
    errors = [error for error in wfe_schema.validate(wfe) if error.field != "<nil>"]
    assert [(error.field, error.reason) for error in errors] == [(field, reason)]


def test_failure_reason_message_lists_the_enum(
    wfe_schema: CustomResourceSchema, wfe: dict[str, Any]
) -> None:
    wfe["status"] = {
        "failureDetails": {**FULL_STATUS["failureDetails"], "reason": "PipelineRunCreationFailed"}
    }
    errors = wfe_schema.validate(wfe)
    supported = ", ".join(f'"{reason}"' for reason in FailureReason)
    assert errors[0] == FieldError(
        "status.failureDetails.reason",
        CauseType.NOT_SUPPORTED,
        f'Unsupported value: "PipelineRunCreationFailed": supported values: {supported}',
    )


def test_spec_change_is_rejected_as_immutable(
    wfe_schema: CustomResourceSchema, wfe: dict[str, Any]
) -> None:
    changed = copy.deepcopy(wfe)
    changed["spec"]["targetResource"] = "default/deployment/other"
    assert wfe_schema.validate(changed, old=wfe) == [
        FieldError("spec", CauseType.INVALID, "Invalid value: spec is immutable after creation")
    ]


def test_status_change_keeps_the_spec_valid(
    wfe_schema: CustomResourceSchema, wfe: dict[str, Any]
) -> None:
    updated = copy.deepcopy(wfe)
    updated["status"] = copy.deepcopy(FULL_STATUS)
    updated["metadata"]["labels"] = {"a": "b"}
    assert wfe_schema.validate(updated, old=wfe) == []


SPEC_REJECTIONS: list[tuple[str, str, Any, str]] = [
    ("targetResource", "", "default/deployment/nginx/extra", "spec.targetResource"),
    ("targetResource", "", "x" * 300 + "/" + "y" * 300, "spec.targetResource"),
    ("parameters", "", {"TARGET_RESOURCE": "x"}, "spec.parameters"),
    ("parameters", "", {"A" * 129: "x"}, "spec.parameters"),
    ("parameters", "", {"ok": "x" * 8193}, "spec.parameters.ok"),
    ("workflowRef", "containerDigest", "sha256:" + "A" * 64, "spec.workflowRef.containerDigest"),
    ("workflowRef", "version", "v" * 65, "spec.workflowRef.version"),
    ("workflowRef", "containerImage", "i" * 513, "spec.workflowRef.containerImage"),
    ("remediationRequestRef", "name", "n" * 254, "spec.remediationRequestRef.name"),
    ("confidence", "", -0.1, "spec.confidence"),
]


@pytest.mark.parametrize(("key", "subkey", "value", "field"), SPEC_REJECTIONS)
def test_spec_rejections_name_the_field(
    wfe_schema: CustomResourceSchema,
    wfe: dict[str, Any],
    *,
    key: str,
    subkey: str,
    value: Any,
    field: str,
) -> None:
    if subkey:
        wfe["spec"][key][subkey] = value
    else:
        wfe["spec"][key] = value
    fields = [error.field for error in wfe_schema.validate(wfe)]
    assert [f for f in fields if f != "<nil>"] == [field]


@pytest.mark.parametrize("timeout", ["10s", "1h30m", "1.5h", "500ms", "24h"])
def test_go_duration_timeouts_pass_the_schema(
    wfe_schema: CustomResourceSchema, wfe: dict[str, Any], timeout: str
) -> None:
    wfe["spec"]["executionConfig"] = {"timeout": timeout}
    assert wfe_schema.validate(wfe) == []


def test_cluster_scoped_target_is_accepted(
    wfe_schema: CustomResourceSchema, wfe: dict[str, Any]
) -> None:
    wfe["spec"]["targetResource"] = "node/worker-node-1"
    assert wfe_schema.validate(wfe) == []


def test_sixty_four_parameters_are_accepted(
    wfe_schema: CustomResourceSchema, wfe: dict[str, Any]
) -> None:
    wfe["spec"]["parameters"] = {f"P{i}": str(i) for i in range(64)}
    assert wfe_schema.validate(wfe) == []
