"""Discovery, /version and OpenAPI v3 as kubectl and kopf read them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kubernaut_wfe.emulator import ApiEmulator


async def _get(client: httpx.AsyncClient, path: str) -> Any:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    return response.json()


async def test_core_discovery_lists_namespaces_and_events(client: httpx.AsyncClient) -> None:
    versions = await _get(client, "/api")
    assert versions["versions"] == ["v1"]
    resources = {r["name"]: r for r in (await _get(client, "/api/v1"))["resources"]}
    assert resources["namespaces"]["namespaced"] is False
    assert resources["namespaces"]["kind"] == "Namespace"
    assert resources["events"]["namespaced"] is True
    assert "watch" in resources["namespaces"]["verbs"]


async def test_group_discovery_includes_crds_leases_events_and_apiextensions(
    client: httpx.AsyncClient,
) -> None:
    groups = {g["name"]: g for g in (await _get(client, "/apis"))["groups"]}
    for name in (
        "kubernaut.ai",
        "tekton.dev",
        "coordination.k8s.io",
        "events.k8s.io",
        "apiextensions.k8s.io",
    ):
        assert name in groups
    assert groups["kubernaut.ai"]["preferredVersion"]["groupVersion"] == "kubernaut.ai/v1alpha1"
    group = await _get(client, "/apis/tekton.dev")
    assert group["kind"] == "APIGroup"


async def test_crd_resource_discovery_has_status_subresource_and_short_names(
    client: httpx.AsyncClient,
) -> None:
    listing = await _get(client, "/apis/kubernaut.ai/v1alpha1")
    resources = {r["name"]: r for r in listing["resources"]}
    assert resources["workflowexecutions"]["shortNames"] == ["wfe"]
    assert resources["workflowexecutions"]["kind"] == "WorkflowExecution"
    assert resources["workflowexecutions/status"]["verbs"] == ["get", "patch", "update"]
    tekton = {r["name"] for r in (await _get(client, "/apis/tekton.dev/v1"))["resources"]}
    assert {"pipelineruns", "pipelineruns/status", "taskruns", "taskruns/status"} <= tekton
    leases = {r["name"] for r in (await _get(client, "/apis/coordination.k8s.io/v1"))["resources"]}
    assert "leases" in leases


async def test_loaded_crds_are_listed_and_readonly(client: httpx.AsyncClient) -> None:
    path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    names = {item["metadata"]["name"] for item in (await _get(client, path))["items"]}
    assert {"workflowexecutions.kubernaut.ai", "pipelineruns.tekton.dev"} <= names
    one = await _get(client, f"{path}/taskruns.tekton.dev")
    assert one["spec"]["names"]["kind"] == "TaskRun"
    refused = await client.delete(f"{path}/taskruns.tekton.dev")
    assert refused.status_code == 405


async def test_version_reports_1_32(client: httpx.AsyncClient) -> None:
    version = await _get(client, "/version")
    assert (version["major"], version["minor"]) == ("1", "32")


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/apis/kubernaut.ai/v1alpha1", "WorkflowExecution"),
        ("/apis/tekton.dev/v1", "PipelineRun"),
        ("/api/v1", "Namespace"),
    ],
)
async def test_openapi_v3_patch_operations_carry_gvk_and_field_validation(
    client: httpx.AsyncClient, path: str, kind: str
) -> None:
    index = await _get(client, "/openapi/v3")
    url = index["paths"][path.lstrip("/")]["serverRelativeURL"]
    document = await _get(client, url)
    patches = [
        op["patch"]
        for op in document["paths"].values()
        if "patch" in op and op["patch"]["x-kubernetes-group-version-kind"]["kind"] == kind
    ]
    assert patches
    for patch in patches:
        assert "fieldValidation" in {p["name"] for p in patch["parameters"]}


async def test_openapi_v3_component_schema_comes_from_the_crd(client: httpx.AsyncClient) -> None:
    document = await _get(client, "/openapi/v3/apis/kubernaut.ai/v1alpha1")
    schema = document["components"]["schemas"]["ai.kubernaut.v1alpha1.WorkflowExecution"]
    assert schema["x-kubernetes-group-version-kind"] == [
        {"group": "kubernaut.ai", "version": "v1alpha1", "kind": "WorkflowExecution"}
    ]
    assert "workflowRef" in schema["properties"]["spec"]["properties"]
    patch_media = document["paths"][
        "/apis/kubernaut.ai/v1alpha1/namespaces/{namespace}/workflowexecutions/{name}"
    ]["patch"]["requestBody"]["content"]
    assert "application/strategic-merge-patch+json" not in patch_media


async def test_initial_namespaces_exist(client: httpx.AsyncClient) -> None:
    listing = await _get(client, "/api/v1/namespaces")
    names = {item["metadata"]["name"] for item in listing["items"]}
    assert {"default", "kube-system", "kube-public"} <= names
    assert (await _get(client, "/api/v1/namespaces/default"))["status"]["phase"] == "Active"


async def test_unknown_resource_is_404_status(client: httpx.AsyncClient) -> None:
    response = await client.get("/apis/kubernaut.ai/v1alpha1/namespaces/default/nothings")
    assert response.status_code == 404
    assert response.json()["kind"] == "Status"


async def test_emulator_without_crds_serves_only_builtins() -> None:
    emu = ApiEmulator(crd_paths=[])
    async with emu.serving(), httpx.AsyncClient(base_url=emu.url) as http:
        groups = {g["name"] for g in (await http.get("/apis")).json()["groups"]}
    assert "kubernaut.ai" not in groups
    assert "coordination.k8s.io" in groups
