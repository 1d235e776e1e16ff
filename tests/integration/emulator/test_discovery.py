"""Discovery, /version and OpenAPI v3 as kubectl and kopf read them, on the emulator and the real
API server alike; and the emulator's discovery of our CRDs compared with the real server's."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kubernaut_wfe_tools.emulator import ApiEmulator
from kubernaut_wfe_tools.testing.testcluster import TestCluster

from .fidelity import Api  # noqa: TID252

CUSTOM_RESOURCE_VERBS = ["delete", "deletecollection", "get", "list", "patch", "create", "update"]


async def _get(client: httpx.AsyncClient, path: str) -> Any:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    return response.json()


async def test_core_discovery_lists_namespaces_and_events(api: Api) -> None:
    versions = await _get(api.client, "/api")
    assert versions["versions"] == ["v1"]
    resources = {r["name"]: r for r in (await _get(api.client, "/api/v1"))["resources"]}
    assert resources["namespaces"]["namespaced"] is False
    assert resources["namespaces"]["kind"] == "Namespace"
    # namespaces are deleted one by one
    assert resources["namespaces"]["verbs"] == [
        "create",
        "delete",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    ]
    assert resources["events"]["namespaced"] is True
    assert resources["configmaps"]["shortNames"] == ["cm"]


async def test_group_discovery_includes_crds_leases_events_and_apiextensions(api: Api) -> None:
    groups = {g["name"]: g for g in (await _get(api.client, "/apis"))["groups"]}
    for name in (
        "kubernaut.ai",
        "tekton.dev",
        "coordination.k8s.io",
        "events.k8s.io",
        "apiextensions.k8s.io",
    ):
        assert name in groups
    assert groups["kubernaut.ai"]["preferredVersion"] == {
        "groupVersion": "kubernaut.ai/v1alpha1",
        "version": "v1alpha1",
    }
    group = await _get(api.client, "/apis/tekton.dev")
    assert group["kind"] == "APIGroup"


async def test_crd_resource_discovery_has_status_subresource_and_short_names(api: Api) -> None:
    listing = await _get(api.client, "/apis/kubernaut.ai/v1alpha1")
    resources = {r["name"]: r for r in listing["resources"]}
    wfe = resources["workflowexecutions"]
    assert (wfe["shortNames"], wfe["categories"], wfe["kind"]) == (
        ["wfe"],
        ["kubernaut"],
        "WorkflowExecution",
    )
    assert wfe["verbs"] == [*CUSTOM_RESOURCE_VERBS, "watch"]
    assert resources["workflowexecutions/status"]["verbs"] == ["get", "patch", "update"]
    tekton = {r["name"] for r in (await _get(api.client, "/apis/tekton.dev/v1"))["resources"]}
    assert {"pipelineruns", "pipelineruns/status", "taskruns", "taskruns/status"} <= tekton
    leases = await _get(api.client, "/apis/coordination.k8s.io/v1")
    assert "leases" in {r["name"] for r in leases["resources"]}


async def test_loaded_crds_are_listed(api: Api) -> None:
    path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    names = {item["metadata"]["name"] for item in (await _get(api.client, path))["items"]}
    assert {"workflowexecutions.kubernaut.ai", "pipelineruns.tekton.dev"} <= names
    one = await _get(api.client, f"{path}/taskruns.tekton.dev")
    assert one["spec"]["names"]["kind"] == "TaskRun"


async def test_the_emulators_crds_are_readonly(client: httpx.AsyncClient) -> None:
    # Emulator only: the real server lets an admin delete a CRD (docs/testing.md).
    path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/taskruns.tekton.dev"
    refused = await client.delete(path)
    assert refused.status_code == 405
    assert "read-only" in refused.json()["message"]
    assert (await client.get(path)).status_code == 200


async def test_version_names_a_kubernetes_1_release(api: Api) -> None:
    version = await _get(api.client, "/version")
    assert version["major"] == "1"
    assert version["gitVersion"].startswith(f"v1.{version['minor']}.")
    assert version["platform"] == "linux/amd64"


async def test_the_emulator_reports_1_32(client: httpx.AsyncClient) -> None:
    # Emulator only: the real server is 1.36, the machines' kubectl 1.32 (docs/testing.md).
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
    api: Api, path: str, kind: str
) -> None:
    index = await _get(api.client, "/openapi/v3")
    url = index["paths"][path.lstrip("/")]["serverRelativeURL"]
    assert url.startswith(f"/openapi/v3{path}?hash=")
    document = await _get(api.client, url)
    patches = [
        op["patch"]
        for op in document["paths"].values()
        if "patch" in op and op["patch"]["x-kubernetes-group-version-kind"]["kind"] == kind
    ]
    assert patches
    for patch in patches:
        assert "fieldValidation" in {p["name"] for p in patch["parameters"]}


async def test_openapi_v3_component_schema_comes_from_the_crd(api: Api) -> None:
    document = await _get(api.client, "/openapi/v3/apis/kubernaut.ai/v1alpha1")
    schema = document["components"]["schemas"]["ai.kubernaut.v1alpha1.WorkflowExecution"]
    assert schema["x-kubernetes-group-version-kind"] == [
        {"group": "kubernaut.ai", "version": "v1alpha1", "kind": "WorkflowExecution"}
    ]
    assert "workflowRef" in schema["properties"]["spec"]["properties"]
    item = "/apis/kubernaut.ai/v1alpha1/namespaces/{namespace}/workflowexecutions/{name}"
    patch_media = document["paths"][item]["patch"]["requestBody"]["content"]
    assert "application/merge-patch+json" in patch_media
    assert "application/strategic-merge-patch+json" not in patch_media


async def test_initial_namespaces_exist(api: Api) -> None:
    listing = await _get(api.client, "/api/v1/namespaces")
    names = {item["metadata"]["name"] for item in listing["items"]}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names
    assert (await _get(api.client, "/api/v1/namespaces/default"))["status"]["phase"] == "Active"


async def test_unknown_resource_of_a_crd_group_is_a_plain_404(api: Api) -> None:
    response = await api.client.get(f"/apis/kubernaut.ai/v1alpha1/namespaces/{api.namespace}/no")
    assert response.status_code == 404
    assert response.text == "404 page not found\n"
    unknown_group = await api.client.get("/apis/nothing.example.com")
    assert (unknown_group.status_code, unknown_group.text) == (404, "404 page not found\n")


async def test_unknown_resource_of_a_builtin_group_is_a_404_status(api: Api) -> None:
    response = await api.client.get("/api/v1/nothings")
    assert response.status_code == 404
    assert response.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "the server could not find the requested resource",
        "reason": "NotFound",
        "details": {},
        "code": 404,
    }


async def test_a_method_a_resource_does_not_serve_is_405(api: Api) -> None:
    response = await api.client.delete("/api/v1/namespaces")
    assert response.status_code == 405
    assert response.json()["reason"] == "MethodNotAllowed"
    assert response.json()["message"] == (
        "the server does not allow this method on the requested resource"
    )


async def test_emulator_without_crds_serves_only_builtins() -> None:
    emu = ApiEmulator(crd_paths=[])
    async with emu.serving(), httpx.AsyncClient(base_url=emu.url) as http:
        groups = {g["name"] for g in (await http.get("/apis")).json()["groups"]}
    assert "kubernaut.ai" not in groups
    assert "coordination.k8s.io" in groups


# -- the emulator's discovery against the real server's -------------------------------------------

DISCOVERY_KEYS = ("name", "singularName", "namespaced", "kind", "verbs", "shortNames", "categories")


def _entries(listing: dict[str, Any], names: set[str]) -> dict[str, dict[str, Any]]:
    return {
        r["name"]: {key: r.get(key) for key in DISCOVERY_KEYS}
        for r in listing["resources"]
        if r["name"] in names or r["name"] in {f"{name}/status" for name in names}
    }


@pytest.mark.parametrize(
    ("group_version", "names"),
    [
        ("apis/kubernaut.ai/v1alpha1", {"workflowexecutions"}),
        ("apis/tekton.dev/v1", {"pipelineruns", "taskruns"}),
        ("apis/coordination.k8s.io/v1", {"leases"}),
        ("api/v1", {"events", "configmaps", "secrets", "serviceaccounts"}),
        # The kinds remediations target: the controller resolves targets through these entries.
        ("api/v1", {"nodes", "persistentvolumeclaims", "pods", "services"}),
        ("apis/apps/v1", {"daemonsets", "deployments", "replicasets", "statefulsets"}),
        ("apis/batch/v1", {"cronjobs", "jobs"}),
        ("apis/events.k8s.io/v1", {"events"}),
    ],
)
async def test_discovery_of_what_the_emulator_serves_is_the_real_servers(
    client: httpx.AsyncClient, cluster: TestCluster, group_version: str, names: set[str]
) -> None:
    async with httpx.AsyncClient(base_url=cluster.url, verify=cluster.tls(), timeout=30) as real:
        expected = _entries(await _get(real, f"/{group_version}"), names)
    assert _entries(await _get(client, f"/{group_version}"), names) == expected
