"""Patch flavours and CRD schema enforcement (structural, pruning, strictness, CEL), on the
emulator and the real API server alike."""

from __future__ import annotations

from typing import Any

import pytest

from .fidelity import JSON_PATCH, MERGE, Api  # noqa: TID252

PATCH_FAILED = {
    "kind": "Status",
    "apiVersion": "v1",
    "metadata": {},
    "status": "Failure",
    "message": "the server rejected our request due to an error in our request",
    "reason": "Invalid",
    "details": {},
    "code": 422,
}


@pytest.fixture
async def wfe(api: Api) -> dict[str, Any]:
    return await api.create(api.wfes, api.wfe())


async def test_json_patch_test_failure_is_422(api: Api, wfe: dict[str, Any]) -> None:
    ops = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": "999999"},
        {"op": "add", "path": "/metadata/finalizers", "value": ["x/y"]},
    ]
    response = await api.client.patch(f"{api.wfes}/wfe-1", json=ops, headers=JSON_PATCH)
    assert response.status_code == 422
    assert response.json() == PATCH_FAILED
    unchanged = (await api.client.get(f"{api.wfes}/wfe-1")).json()
    assert "finalizers" not in unchanged["metadata"]


async def test_json_patch_test_then_add_applies(api: Api, wfe: dict[str, Any]) -> None:
    ops = [
        {
            "op": "test",
            "path": "/metadata/resourceVersion",
            "value": wfe["metadata"]["resourceVersion"],
        },
        {"op": "add", "path": "/metadata/finalizers", "value": ["x/y"]},
        {"op": "add", "path": "/metadata/finalizers/-", "value": "x/z"},
    ]
    response = await api.client.patch(f"{api.wfes}/wfe-1", json=ops, headers=JSON_PATCH)
    assert response.status_code == 200, response.text
    assert response.json()["metadata"]["finalizers"] == ["x/y", "x/z"]


@pytest.mark.parametrize(
    "ops",
    [
        [{"op": "remove", "path": "/metadata/labels"}],
        [{"op": "replace", "path": "/spec/missing/deeper", "value": 1}],
        [{"op": "add", "path": "/metadata/finalizers/-", "value": "a/b"}],
        [{"op": "move", "from": "/spec/missing", "path": "/spec/x"}],
        [{"op": "frobnicate", "path": "/spec"}],
    ],
    ids=["remove-missing", "replace-under-missing", "append-to-missing", "move-missing", "op"],
)
async def test_json_patch_operation_failures_are_422(
    api: Api, wfe: dict[str, Any], ops: list[dict[str, Any]]
) -> None:
    response = await api.client.patch(f"{api.wfes}/wfe-1", json=ops, headers=JSON_PATCH)
    assert response.status_code == 422
    assert response.json() == PATCH_FAILED


@pytest.mark.emulator_diverges(
    reason="the emulator's `replace` wants the key to exist, as RFC 6902 says (422)"
)
async def test_json_patch_replace_of_a_missing_key_sets_it(api: Api, wfe: dict[str, Any]) -> None:
    # the server's json-patch library lets `replace` set a key an object lacks
    ops = [{"op": "replace", "path": "/metadata/labels", "value": {"a": "b"}}]
    response = await api.client.patch(f"{api.wfes}/wfe-1", json=ops, headers=JSON_PATCH)
    assert response.status_code == 200, response.text
    assert response.json()["metadata"]["labels"] == {"a": "b"}


@pytest.mark.parametrize(("document", "kind"), [({"op": "add"}, "object"), ("garbage", "string")])
async def test_json_patch_that_is_not_a_list_is_400(
    api: Api, wfe: dict[str, Any], document: Any, kind: str
) -> None:
    response = await api.client.patch(f"{api.wfes}/wfe-1", json=document, headers=JSON_PATCH)
    assert response.status_code == 400
    assert response.json()["message"] == (
        f"error decoding patch: json: cannot unmarshal {kind} into Go value of type "
        "[]handlers.jsonPatchOp"
    )


async def test_merge_patch_null_removes_keys(api: Api, wfe: dict[str, Any]) -> None:
    await api.client.patch(
        f"{api.wfes}/wfe-1", json={"metadata": {"labels": {"a": "1", "b": "2"}}}, headers=MERGE
    )
    response = await api.client.patch(
        f"{api.wfes}/wfe-1", json={"metadata": {"labels": {"a": None}}}, headers=MERGE
    )
    assert response.json()["metadata"]["labels"] == {"b": "2"}


async def test_strategic_merge_patch_is_415_for_custom_resources(
    api: Api, wfe: dict[str, Any]
) -> None:
    response = await api.client.patch(
        f"{api.wfes}/wfe-1",
        json={"metadata": {"labels": {"a": "1"}}},
        headers={"Content-Type": "application/strategic-merge-patch+json"},
    )
    assert response.status_code == 415
    assert response.json()["reason"] == "UnsupportedMediaType"


async def test_strategic_merge_patch_works_for_builtin_kinds(api: Api) -> None:
    response = await api.client.patch(
        f"/api/v1/namespaces/{api.namespace}",
        json={"metadata": {"labels": {"team": "a"}}},
        headers={"Content-Type": "application/strategic-merge-patch+json"},
    )
    assert response.status_code == 200
    assert response.json()["metadata"]["labels"]["team"] == "a"


APPLY = {"Content-Type": "application/apply-patch+yaml"}
APPLIED = (
    "apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata:\n  name: applied\n"
    "spec:\n  timeouts:\n    pipeline: 1h0m0s\n"
)


async def test_server_side_apply_creates_then_merges(api: Api) -> None:
    path = f"{api.prs}/applied"
    created = await api.client.patch(
        path, params={"fieldManager": "test"}, content=APPLIED, headers=APPLY
    )
    assert created.status_code == 201, created.text
    labelled = await api.client.patch(
        path, json={"metadata": {"labels": {"kept": "yes"}}}, headers=MERGE
    )
    assert labelled.status_code == 200
    updated = await api.client.patch(
        path,
        params={"fieldManager": "test"},
        content=APPLIED.replace("1h0m0s", "5m0s"),
        headers=APPLY,
    )
    assert updated.status_code == 200
    assert updated.json()["spec"]["timeouts"]["pipeline"] == "5m0s"
    assert updated.json()["metadata"]["labels"] == {"kept": "yes"}


async def test_server_side_apply_needs_a_field_manager(api: Api) -> None:
    response = await api.client.patch(f"{api.prs}/applied", content=APPLIED, headers=APPLY)
    assert response.status_code == 422
    assert response.json()["message"] == (
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for '
        "apply patch"
    )
    assert await api.status_code(f"{api.prs}/applied") == 404


@pytest.mark.emulator_diverges(
    reason="the emulator's server-side apply keeps no field ownership, so managers never conflict"
)
async def test_server_side_apply_of_another_managers_field_is_409(api: Api) -> None:
    path = f"{api.prs}/applied"
    first = await api.client.patch(
        path, params={"fieldManager": "a"}, content=APPLIED, headers=APPLY
    )
    assert first.status_code == 201
    other = APPLIED.replace("1h0m0s", "5m0s")
    response = await api.client.patch(
        path, params={"fieldManager": "b"}, content=other, headers=APPLY
    )
    assert response.status_code == 409
    assert response.json()["message"] == (
        'Apply failed with 1 conflict: conflict with "a": .spec.timeouts.pipeline'
    )
    forced = await api.client.patch(
        path, params={"fieldManager": "b", "force": "true"}, content=other, headers=APPLY
    )
    assert forced.status_code == 200
    assert forced.json()["spec"]["timeouts"]["pipeline"] == "5m0s"


async def test_status_patch_with_unknown_failure_reason_is_422_naming_the_field(
    api: Api, wfe: dict[str, Any]
) -> None:
    failure = {
        "failedTaskIndex": 0,
        "failedTaskName": "",
        "reason": "PipelineRunCreationFailed",
        "message": "boom",
        "failedAt": "2026-01-01T00:00:00Z",
        "executionTimeBeforeFailure": "0s",
        "naturalLanguageSummary": "boom",
        "wasExecutionFailure": False,
    }
    response = await api.client.patch(
        f"{api.wfes}/wfe-1/status",
        json={"status": {"phase": "Failed", "failureDetails": failure}},
        headers=MERGE,
    )
    assert response.status_code == 422
    body = response.json()
    assert body["reason"] == "Invalid"
    assert body["message"].startswith('WorkflowExecution.kubernaut.ai "wfe-1" is invalid: ')
    fields = [cause["field"] for cause in body["details"]["causes"]]
    assert "status.failureDetails.reason" in fields
    assert "status.failureDetails.reason" in body["message"]


async def test_valid_status_patch_is_accepted(api: Api, wfe: dict[str, Any]) -> None:
    response = await api.client.patch(
        f"{api.wfes}/wfe-1/status", json={"status": {"phase": "Running"}}, headers=MERGE
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"]["phase"] == "Running"


async def test_spec_change_is_rejected_by_the_cel_transition_rule(
    api: Api, wfe: dict[str, Any]
) -> None:
    response = await api.client.patch(
        f"{api.wfes}/wfe-1",
        json={"spec": {"targetResource": "other/deployment/x"}},
        headers=MERGE,
    )
    assert response.status_code == 422
    body = response.json()
    assert "spec is immutable after creation" in body["message"]
    assert body["details"]["causes"][0]["field"] == "spec"


async def test_create_with_bad_enum_pattern_and_missing_field_is_422(api: Api) -> None:
    body = api.wfe()
    del body["spec"]["targetResource"]
    body["spec"]["workflowRef"]["containerDigest"] = "md5:nope"
    response = await api.client.post(api.wfes, json=body)
    assert response.status_code == 422
    fields = {cause["field"] for cause in response.json()["details"]["causes"]}
    assert {"spec.targetResource", "spec.workflowRef.containerDigest"} <= fields


async def test_unknown_fields_are_pruned_silently_with_a_warning(api: Api) -> None:
    body = api.wfe()
    body["spec"]["foo"] = "bar"
    response = await api.client.post(api.wfes, json=body)
    assert response.status_code == 201
    assert "foo" not in response.json()["spec"]
    assert 'unknown field \\"spec.foo\\"' in response.headers.get("Warning", "")


STRICT_SPEC_FOO = (
    'WorkflowExecution in version "v1alpha1" cannot be handled as a WorkflowExecution: '
    'strict decoding error: unknown field "spec.foo"'
)


async def test_unknown_fields_under_strict_validation_are_400(api: Api) -> None:
    body = api.wfe()
    body["spec"]["foo"] = "bar"
    body["metadata"]["labels"] = {"bad key": "v"}  # the decoder refuses first
    response = await api.client.post(f"{api.wfes}?fieldValidation=Strict", json=body)
    assert response.status_code == 400
    assert response.json()["reason"] == "BadRequest"
    assert response.json()["message"] == STRICT_SPEC_FOO
    assert (await api.client.get(f"{api.wfes}/wfe-1")).status_code == 404


async def test_strict_validation_reads_the_whole_body_of_a_status_put(
    api: Api, wfe: dict[str, Any]
) -> None:
    body = {**wfe, "status": {"phase": "Running"}}
    body["spec"] = {**wfe["spec"], "foo": "bar"}
    response = await api.client.put(f"{api.wfes}/wfe-1/status?fieldValidation=Strict", json=body)
    assert response.status_code == 400
    assert response.json()["message"] == STRICT_SPEC_FOO
    warned = await api.client.put(f"{api.wfes}/wfe-1/status", json=body)
    assert warned.status_code == 200
    assert warned.headers.get_list("Warning") == ['299 - "unknown field \\"spec.foo\\""']


@pytest.mark.parametrize(
    ("subresource", "patch", "field"),
    [
        ("/status", {"status": {"phase": "Running", "bogus": 1}}, "status.bogus"),
        ("", {"spec": {"bogus": 1}}, "spec.bogus"),
    ],
    ids=["status", "main"],
)
async def test_strict_validation_of_a_patch_is_422_naming_the_patch(
    api: Api, wfe: dict[str, Any], subresource: str, patch: dict[str, Any], field: str
) -> None:
    response = await api.client.patch(
        f"{api.wfes}/wfe-1{subresource}?fieldValidation=Strict", json=patch, headers=MERGE
    )
    assert response.status_code == 422
    body = response.json()
    assert body["reason"] == "Invalid"
    # the message quotes the whole patched object, which differs (managedFields)
    assert body["message"].startswith(' "" is invalid: patch: Invalid value: "{')
    assert body["message"].endswith(f'}}": strict decoding error: unknown field "{field}"')
    (cause,) = body["details"]["causes"]
    assert (cause["field"], cause["reason"]) == ("patch", "FieldValueInvalid")
    assert set(body["details"]) == {"causes"}


async def test_pipelinerun_preserves_unknown_fields_where_the_schema_says_so(api: Api) -> None:
    path = api.prs
    body = api.pipelinerun("pr")
    body["spec"]["pipelineSpec"] = {"tasks": [{"name": "t", "anything": {"deep": True}}]}
    body["spec"]["params"] = [{"name": "A", "value": ["x", "y"]}]
    response = await api.client.post(f"{path}?fieldValidation=Strict", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["spec"]["pipelineSpec"]["tasks"][0]["anything"] == {"deep": True}
