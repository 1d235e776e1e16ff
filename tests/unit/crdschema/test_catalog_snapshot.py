"""The WorkflowExecution CRD accepts both contract shapes of `spec.workflowRef`: the January one
(`containerImage`) and the catalog snapshot (`executionBundle`), as kube-apiserver 1.36 does
(`tests/integration/realserver/test_contract_shapes.py` runs the same documents there)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubernaut_wfe_tools.crdschema import CauseType, CustomResourceSchema, FieldError
from kubernaut_wfe_tools.testing.catalog_fixtures import (
    EVERY_OPTIONAL_FIELD,
    REMOVE,
    catalog_variant,
    catalog_wfe,
)

EXACTLY_ONE = (
    "Invalid value: exactly one of containerImage (January shape) or executionBundle (catalog"
    " snapshot) must be set"
)
NAME_AND_ACTION = (
    "Invalid value: workflowName and actionType are required with executionBundle (catalog"
    " snapshot)"
)
RULES_NOT_CHECKED = FieldError(
    "<nil>",
    CauseType.INVALID,
    "Invalid value: null: some validation rules were not checked because the object was invalid;"
    " correct the existing errors to complete validation",
)


def stored(schema: CustomResourceSchema, document: dict[str, Any]) -> dict[str, Any]:
    """What the API server stores of an admitted document (asserting it is admitted)."""
    pruned, unknown = schema.prune(document)
    assert unknown == []
    kept = schema.default(pruned)
    assert schema.validate(kept) == []
    return kept


def refusal(schema: CustomResourceSchema, document: dict[str, Any]) -> list[FieldError]:
    pruned, _ = schema.prune(document)
    return schema.validate(schema.default(pruned))


def test_the_base_catalog_snapshot_is_admitted_unchanged(wfe_schema: CustomResourceSchema) -> None:
    document = catalog_wfe()
    assert stored(wfe_schema, document) == document


def test_every_optional_field_is_admitted_and_kept(wfe_schema: CustomResourceSchema) -> None:
    document = catalog_variant(EVERY_OPTIONAL_FIELD)
    kept = stored(wfe_schema, document)
    assert kept == document
    assert kept["spec"]["workflowRef"]["engineConfig"] == {
        "playbookPath": "site.yml",
        "extra": {"nested": [1, {"a": None}]},
    }


@pytest.mark.parametrize(
    "declared",
    [REMOVE, None, {}, {"DELAY_SECONDS": True, "OTHER": False}],
    ids=["absent", "null", "empty", "map"],
)
def test_declared_parameter_names_absent_null_empty_or_a_map(
    wfe_schema: CustomResourceSchema, declared: Any
) -> None:
    document = catalog_variant({"workflowRef.declaredParameterNames": declared})
    assert stored(wfe_schema, document) == document


@pytest.mark.parametrize("engine", ["tekton", "job", "ansible", "", REMOVE])
def test_each_engine_is_admitted(wfe_schema: CustomResourceSchema, engine: Any) -> None:
    document = catalog_variant({"workflowRef.executionEngine": engine})
    assert stored(wfe_schema, document) == document


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"workflowRef.containerImage": "quay.io/kubernaut/workflows/hello-world:v1"},
            [FieldError("spec.workflowRef", CauseType.INVALID, EXACTLY_ONE)],
        ),
        (
            {"workflowRef.executionBundle": REMOVE},
            [FieldError("spec.workflowRef", CauseType.INVALID, EXACTLY_ONE)],
        ),
        (
            {"workflowRef.workflowName": REMOVE},
            [FieldError("spec.workflowRef", CauseType.INVALID, NAME_AND_ACTION)],
        ),
        (
            {"workflowRef.actionType": REMOVE},
            [FieldError("spec.workflowRef", CauseType.INVALID, NAME_AND_ACTION)],
        ),
        (
            # a null is dropped first (the field is not nullable), so the rule sees it absent
            {"workflowRef.workflowName": None},
            [FieldError("spec.workflowRef", CauseType.INVALID, NAME_AND_ACTION)],
        ),
        (
            {"workflowRef.containerDigest": "sha256:" + "0" * 64},
            [
                FieldError(
                    "spec.workflowRef.containerDigest",
                    CauseType.FORBIDDEN,
                    "Forbidden: containerDigest pins containerImage and may be set only with it"
                    " (a catalog snapshot's executionBundle is used as written)",
                )
            ],
        ),
        (
            {"workflowRef.executionEngine": "argo"},
            [
                FieldError(
                    "spec.workflowRef.executionEngine",
                    CauseType.NOT_SUPPORTED,
                    'Unsupported value: "argo": supported values: "", "tekton", "job", "ansible"',
                ),
                RULES_NOT_CHECKED,
            ],
        ),
    ],
    ids=[
        "both",
        "neither",
        "no-workflow-name",
        "no-action-type",
        "null-workflow-name",
        "digest-with-bundle",
        "unknown-engine",
    ],
)
def test_shape_refusals_and_their_messages(
    wfe_schema: CustomResourceSchema, changes: dict[str, Any], expected: list[FieldError]
) -> None:
    assert refusal(wfe_schema, catalog_variant(changes)) == expected


@pytest.mark.parametrize(
    "field",
    ["executionEngine", "engineConfig", "resources", "dependencies", "executionBundleDigest"],
)
def test_a_null_optional_field_is_dropped_as_the_api_server_does(
    wfe_schema: CustomResourceSchema, field: str
) -> None:
    document = catalog_variant({f"workflowRef.{field}": None})
    kept = stored(wfe_schema, document)
    assert field not in kept["spec"]["workflowRef"]


def test_a_null_quantity_is_dropped_leaving_its_map(wfe_schema: CustomResourceSchema) -> None:
    document = catalog_variant({"workflowRef.resources": {"limits": {"memory": None}}})
    assert stored(wfe_schema, document)["spec"]["workflowRef"]["resources"] == {"limits": {}}


QUANTITY_PATTERN = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+"
    r"(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
CPU = "spec.workflowRef.resources.limits.cpu"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"workflowRef.resources": {"limits": {"cpu": 1.5}}},
            [
                FieldError(
                    CPU,
                    CauseType.TYPE_INVALID,
                    f'Invalid value: "number": {CPU} in body must be of type integer,string:'
                    ' "number"',
                ),
                FieldError(
                    "<nil>",
                    CauseType.INVALID,
                    f'Invalid value: "": "{CPU}" must validate at least one schema (anyOf)',
                ),
                FieldError(
                    CPU,
                    CauseType.TYPE_INVALID,
                    f'Invalid value: "number": {CPU} in body must be of type integer: "number"',
                ),
                FieldError(
                    "<nil>",
                    CauseType.INVALID,
                    'Invalid value: "": Checked value must be of type integer (default format)'
                    f" in {CPU}",
                ),
                RULES_NOT_CHECKED,
            ],
        ),
        (
            {"workflowRef.resources": {"limits": {"cpu": "lots"}}},
            [
                FieldError(
                    CPU,
                    CauseType.INVALID,
                    f"Invalid value: \"lots\": {CPU} in body should match '{QUANTITY_PATTERN}'",
                )
            ],
        ),
        (
            {"workflowRef.resources": {"claims": [{"name": "a"}, {"name": "a"}]}},
            [
                FieldError(
                    "spec.workflowRef.resources.claims[1]",
                    CauseType.DUPLICATE,
                    'Duplicate value: {"name":"a"}',
                )
            ],
        ),
        (
            {"workflowRef.resources": {"claims": [{"request": "a"}]}},
            [
                FieldError(
                    "spec.workflowRef.resources.claims[0].name",
                    CauseType.REQUIRED,
                    "Required value",
                ),
                RULES_NOT_CHECKED,
            ],
        ),
        (
            {"workflowRef.dependencies": {"secrets": [{}]}},
            [
                FieldError(
                    "spec.workflowRef.dependencies.secrets[0].name",
                    CauseType.REQUIRED,
                    "Required value",
                ),
                RULES_NOT_CHECKED,
            ],
        ),
        (
            {"workflowRef.dependencies": {"configMaps": [{"name": f"c{i}"} for i in range(65)]}},
            [
                FieldError(
                    "spec.workflowRef.dependencies.configMaps",
                    CauseType.TOO_MANY,
                    "Too many: 65: must have at most 64 items",
                ),
                RULES_NOT_CHECKED,
            ],
        ),
        (
            {"workflowRef.declaredParameterNames": {"A": "yes"}},
            [
                FieldError(
                    "spec.workflowRef.declaredParameterNames.A",
                    CauseType.TYPE_INVALID,
                    'Invalid value: "string": spec.workflowRef.declaredParameterNames.A in body'
                    ' must be of type boolean: "string"',
                ),
                RULES_NOT_CHECKED,
            ],
        ),
        (
            {"timesOutAt": "tomorrow"},
            [
                FieldError(
                    "spec.timesOutAt",
                    CauseType.TYPE_INVALID,
                    'Invalid value: "tomorrow": spec.timesOutAt in body must be of type'
                    ' date-time: "tomorrow"',
                ),
                RULES_NOT_CHECKED,
            ],
        ),
        (
            {"clusterID": "c" * 254},
            [
                FieldError(
                    "spec.clusterID", CauseType.TOO_LONG, "Too long: may not be more than 253 bytes"
                ),
                RULES_NOT_CHECKED,
            ],
        ),
    ],
    ids=[
        "fractional-quantity",
        "malformed-quantity",
        "duplicate-claim",
        "claim-without-name",
        "secret-without-name",
        "too-many-config-maps",
        "declared-name-not-a-boolean",
        "times-out-at-not-a-date",
        "cluster-id-too-long",
    ],
)
def test_catalog_field_refusals_and_their_messages(
    wfe_schema: CustomResourceSchema, changes: dict[str, Any], expected: list[FieldError]
) -> None:
    assert refusal(wfe_schema, catalog_variant(changes)) == expected


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"workflowRef.serviceAccountName": "Runner"}, "spec.workflowRef.serviceAccountName"),
        (
            {"workflowRef.dependencies": {"secrets": [{"name": "a_b"}]}},
            "spec.workflowRef.dependencies.secrets[0].name",
        ),
        ({"workflowRef.executionBundle": ""}, "spec.workflowRef.executionBundle"),
        ({"workflowRef.executionBundle": "b" * 513}, "spec.workflowRef.executionBundle"),
        (
            {"workflowRef.executionBundleDigest": "d" * 129},
            "spec.workflowRef.executionBundleDigest",
        ),
        ({"workflowRef.workflowName": ""}, "spec.workflowRef.workflowName"),
        ({"workflowRef.actionType": "a" * 254}, "spec.workflowRef.actionType"),
        (
            {"workflowRef.declaredParameterNames": {f"P{i}": True for i in range(65)}},
            "spec.workflowRef.declaredParameterNames",
        ),
    ],
)
def test_bounds_of_the_catalog_fields(
    wfe_schema: CustomResourceSchema, changes: dict[str, Any], field: str
) -> None:
    fields = [error.field for error in refusal(wfe_schema, catalog_variant(changes))]
    assert [f for f in fields if f != "<nil>"] == [field]


@pytest.mark.parametrize(
    "changes",
    [
        {"workflowRef.serviceAccountName": ""},
        {
            "workflowRef.resources": {
                "limits": {"cpu": 2, "memory": "1Gi"},
                "requests": {"cpu": "1e3"},
            }
        },
        {"workflowRef.engineConfig": "a string"},
        {"workflowRef.engineConfig": [1, "two", None]},
        {"clusterID": "spoke-1"},
    ],
    ids=[
        "empty-service-account",
        "quantities",
        "engine-config-string",
        "engine-config-list",
        "remote-cluster",
    ],
)
def test_other_admitted_values(wfe_schema: CustomResourceSchema, changes: dict[str, Any]) -> None:
    document = catalog_variant(changes)
    assert stored(wfe_schema, document) == document


def test_a_catalog_spec_is_immutable_down_to_its_engine_config(
    wfe_schema: CustomResourceSchema,
) -> None:
    created = {**EVERY_OPTIONAL_FIELD, "workflowRef.declaredParameterNames": None}
    old = catalog_variant(created)
    immutable = [
        FieldError("spec", CauseType.INVALID, "Invalid value: spec is immutable after creation")
    ]
    changed: list[dict[str, Any]] = [
        {"workflowRef.engineConfig": {"playbookPath": "site.yml", "extra": {"nested": [1, {}]}}},
        {"workflowRef.engineConfig": "site.yml"},
        {"workflowRef.declaredParameterNames": {}},
    ]
    for changes in changed:
        new = catalog_variant({**created, **changes})
        assert wfe_schema.validate(new, old=old) == immutable, changes
    unchanged = copy.deepcopy(old)
    unchanged["status"] = {"phase": "Running"}
    assert wfe_schema.validate(unchanged, old=old) == []


def test_a_january_wfe_is_still_admitted(
    wfe_schema: CustomResourceSchema, wfe: dict[str, Any]
) -> None:
    assert stored(wfe_schema, wfe) == wfe


CATALOG_STATUS: dict[str, Any] = {
    "phase": "Failed",
    "observedGeneration": 1,
    "startTime": "2026-08-22T10:00:00Z",
    "completionTime": "2026-08-22T10:00:01Z",
    "executionRef": {"name": "wfe-f3457dcc8fbcb6d9"},
    "executionStatus": {
        "status": "False",
        "reason": "Failed",
        "message": "failed",
        "completedTasks": 0,
        "totalTasks": 1,
        "retryCount": 0,
    },
    "failureDetails": {
        "failedTaskIndex": 0,
        "failedTaskName": "",
        "reason": "UnsupportedEngine",
        "message": 'execution engine "ansible" is not available',
        "failedAt": "2026-08-22T10:00:01Z",
        "wasExecutionFailure": False,
        "naturalLanguageSummary": "Workflow hello-world failed.",
    },
    "failureReason": "UnsupportedEngine",
    "deduplicatedBy": "other-wfe",
    "ephemeralCredentialIDs": [12, 2**40],
    "workflowName": "hello-world",
    "conditions": [
        {
            "type": "ExecutionCreated",
            "status": "False",
            "lastTransitionTime": "2026-08-22T10:00:01Z",
            "reason": "ExecutionCreationFailed",
            "message": "failed",
        }
    ],
}


def test_the_catalog_status_fields_are_admitted_and_kept(wfe_schema: CustomResourceSchema) -> None:
    document = catalog_wfe()
    document["status"] = copy.deepcopy(CATALOG_STATUS)
    assert stored(wfe_schema, document) == document


@pytest.mark.parametrize(
    ("status", "field", "reason"),
    [
        ({"executionStatus": {"reason": "x"}}, "status.executionStatus.status", CauseType.REQUIRED),
        (
            {"executionStatus": {"status": "Maybe"}},
            "status.executionStatus.status",
            CauseType.NOT_SUPPORTED,
        ),
        (
            {"executionStatus": {"status": "True", "retryCount": -1}},
            "status.executionStatus.retryCount",
            CauseType.INVALID,
        ),
        (
            {"ephemeralCredentialIDs": ["12"]},
            "status.ephemeralCredentialIDs[0]",
            CauseType.TYPE_INVALID,
        ),
    ],
    ids=[
        "execution-status-without-status",
        "execution-status-outside-enum",
        "negative-retries",
        "credential-id-not-int",
    ],
)
def test_catalog_status_refusals(
    wfe_schema: CustomResourceSchema, status: dict[str, Any], field: str, reason: str
) -> None:
    document = catalog_wfe()
    document["status"] = status
    errors = [error for error in refusal(wfe_schema, document) if error.field != "<nil>"]
    assert [(error.field, error.reason) for error in errors] == [(field, reason)]
