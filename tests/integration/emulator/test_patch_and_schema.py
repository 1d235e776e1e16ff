"""Patch flavours and CRD schema enforcement (structural, pruning, strictness, CEL)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

WFE_PATH = "/apis/kubernaut.ai/v1alpha1/namespaces/default/workflowexecutions"
JSON_PATCH = {"Content-Type": "application/json-patch+json"}
MERGE = {"Content-Type": "application/merge-patch+json"}
Factory = Callable[..., dict[str, Any]]


@pytest.fixture
async def wfe(client: httpx.AsyncClient, make_wfe: Factory) -> dict[str, Any]:
    response = await client.post(WFE_PATH, json=make_wfe())
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_json_patch_test_failure_is_422(
    client: httpx.AsyncClient, wfe: dict[str, Any]
) -> None:
    ops = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": "999999"},
        {"op": "add", "path": "/metadata/finalizers", "value": ["x/y"]},
    ]
    response = await client.patch(f"{WFE_PATH}/wfe-1", json=ops, headers=JSON_PATCH)
    assert response.status_code == 422
    assert response.json()["kind"] == "Status"
    unchanged = (await client.get(f"{WFE_PATH}/wfe-1")).json()
    assert "finalizers" not in unchanged["metadata"]


async def test_json_patch_test_then_add_applies(
    client: httpx.AsyncClient, wfe: dict[str, Any]
) -> None:
    ops = [
        {
            "op": "test",
            "path": "/metadata/resourceVersion",
            "value": wfe["metadata"]["resourceVersion"],
        },
        {"op": "add", "path": "/metadata/finalizers", "value": ["x/y"]},
        {"op": "add", "path": "/metadata/finalizers/-", "value": "x/z"},
    ]
    response = await client.patch(f"{WFE_PATH}/wfe-1", json=ops, headers=JSON_PATCH)
    assert response.status_code == 200, response.text
    assert response.json()["metadata"]["finalizers"] == ["x/y", "x/z"]


@pytest.mark.parametrize(
    "ops",
    [
        [{"op": "remove", "path": "/metadata/labels"}],
        [{"op": "replace", "path": "/spec/nothing", "value": 1}],
        [{"op": "frobnicate", "path": "/spec"}],
    ],
)
async def test_json_patch_operation_failures_are_422(
    client: httpx.AsyncClient, wfe: dict[str, Any], ops: list[dict[str, Any]]
) -> None:
    response = await client.patch(f"{WFE_PATH}/wfe-1", json=ops, headers=JSON_PATCH)
    assert response.status_code == 422


async def test_merge_patch_null_removes_keys(
    client: httpx.AsyncClient, wfe: dict[str, Any]
) -> None:
    await client.patch(
        f"{WFE_PATH}/wfe-1", json={"metadata": {"labels": {"a": "1", "b": "2"}}}, headers=MERGE
    )
    response = await client.patch(
        f"{WFE_PATH}/wfe-1", json={"metadata": {"labels": {"a": None}}}, headers=MERGE
    )
    assert response.json()["metadata"]["labels"] == {"b": "2"}


async def test_strategic_merge_patch_is_415_for_custom_resources(
    client: httpx.AsyncClient, wfe: dict[str, Any]
) -> None:
    response = await client.patch(
        f"{WFE_PATH}/wfe-1",
        json={"metadata": {"labels": {"a": "1"}}},
        headers={"Content-Type": "application/strategic-merge-patch+json"},
    )
    assert response.status_code == 415
    assert response.json()["reason"] == "UnsupportedMediaType"


async def test_strategic_merge_patch_works_for_builtin_kinds(client: httpx.AsyncClient) -> None:
    response = await client.patch(
        "/api/v1/namespaces/default",
        json={"metadata": {"labels": {"team": "a"}}},
        headers={"Content-Type": "application/strategic-merge-patch+json"},
    )
    assert response.status_code == 200
    assert response.json()["metadata"]["labels"]["team"] == "a"


async def test_server_side_apply_creates_then_merges(client: httpx.AsyncClient) -> None:
    path = "/apis/tekton.dev/v1/namespaces/default/pipelineruns/applied"
    manifest = (
        "apiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata:\n  name: applied\n"
        "spec:\n  timeouts:\n    pipeline: 1h0m0s\n"
    )
    headers = {"Content-Type": "application/apply-patch+yaml"}
    created = await client.patch(f"{path}?fieldManager=test", content=manifest, headers=headers)
    assert created.status_code == 201, created.text
    updated = await client.patch(
        f"{path}?fieldManager=test",
        content=manifest.replace("1h0m0s", "5m0s"),
        headers=headers,
    )
    assert updated.status_code == 200
    assert updated.json()["spec"]["timeouts"]["pipeline"] == "5m0s"


async def test_status_patch_with_unknown_failure_reason_is_422_naming_the_field(
    client: httpx.AsyncClient, wfe: dict[str, Any]
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
    response = await client.patch(
        f"{WFE_PATH}/wfe-1/status",
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


async def test_valid_status_patch_is_accepted(
    client: httpx.AsyncClient, wfe: dict[str, Any]
) -> None:
    response = await client.patch(
        f"{WFE_PATH}/wfe-1/status", json={"status": {"phase": "Running"}}, headers=MERGE
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"]["phase"] == "Running"


async def test_spec_change_is_rejected_by_the_cel_transition_rule(
    client: httpx.AsyncClient, wfe: dict[str, Any]
) -> None:
    response = await client.patch(
        f"{WFE_PATH}/wfe-1",
        json={"spec": {"targetResource": "other/deployment/x"}},
        headers=MERGE,
    )
    assert response.status_code == 422
    body = response.json()
    assert "spec is immutable after creation" in body["message"]
    assert body["details"]["causes"][0]["field"] == "spec"


async def test_create_with_bad_enum_pattern_and_missing_field_is_422(
    client: httpx.AsyncClient, make_wfe: Factory
) -> None:
    body = make_wfe()
    del body["spec"]["targetResource"]
    body["spec"]["workflowRef"]["containerDigest"] = "md5:nope"
    response = await client.post(WFE_PATH, json=body)
    assert response.status_code == 422
    fields = {cause["field"] for cause in response.json()["details"]["causes"]}
    assert {"spec.targetResource", "spec.workflowRef.containerDigest"} <= fields


async def test_unknown_fields_are_pruned_silently_with_a_warning(
    client: httpx.AsyncClient, make_wfe: Factory
) -> None:
    body = make_wfe()
    body["spec"]["foo"] = "bar"
    response = await client.post(WFE_PATH, json=body)
    assert response.status_code == 201
    assert "foo" not in response.json()["spec"]
    assert 'unknown field \\"spec.foo\\"' in response.headers.get("Warning", "")


async def test_unknown_fields_under_strict_validation_are_400(
    client: httpx.AsyncClient, make_wfe: Factory
) -> None:
    body = make_wfe()
    body["spec"]["foo"] = "bar"
    response = await client.post(f"{WFE_PATH}?fieldValidation=Strict", json=body)
    assert response.status_code == 400
    assert response.json()["message"] == 'strict decoding error: unknown field "spec.foo"'
    assert (await client.get(f"{WFE_PATH}/wfe-1")).status_code == 404


async def test_strict_validation_applies_to_patches(
    client: httpx.AsyncClient, wfe: dict[str, Any]
) -> None:
    response = await client.patch(
        f"{WFE_PATH}/wfe-1/status?fieldValidation=Strict",
        json={"status": {"phase": "Running", "bogus": 1}},
        headers=MERGE,
    )
    assert response.status_code == 400
    assert 'unknown field "status.bogus"' in response.json()["message"]


async def test_pipelinerun_preserves_unknown_fields_where_the_schema_says_so(
    client: httpx.AsyncClient, make_pipelinerun: Factory
) -> None:
    path = "/apis/tekton.dev/v1/namespaces/default/pipelineruns"
    body = make_pipelinerun("pr")
    body["spec"]["pipelineSpec"] = {"tasks": [{"name": "t", "anything": {"deep": True}}]}
    body["spec"]["params"] = [{"name": "A", "value": ["x", "y"]}]
    response = await client.post(f"{path}?fieldValidation=Strict", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["spec"]["pipelineSpec"]["tasks"][0]["anything"] == {"deep": True}
