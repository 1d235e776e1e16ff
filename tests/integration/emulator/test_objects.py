"""Create, read, update and status-subresource semantics of a real apiserver."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

WFE_PATH = "/apis/kubernaut.ai/v1alpha1/namespaces/default/workflowexecutions"
MERGE = {"Content-Type": "application/merge-patch+json"}
Factory = Callable[..., dict[str, Any]]


async def _create(
    client: httpx.AsyncClient, make_wfe: Factory, name: str = "wfe-1"
) -> dict[str, Any]:
    response = await client.post(WFE_PATH, json=make_wfe(name))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_create_answers_201_with_system_metadata(
    client: httpx.AsyncClient, make_wfe: Factory
) -> None:
    response = await client.post(WFE_PATH, json=make_wfe())
    assert response.status_code == 201
    meta = response.json()["metadata"]
    assert meta["uid"]
    assert meta["creationTimestamp"].endswith("Z")
    assert meta["generation"] == 1
    assert meta["resourceVersion"].isdigit()
    fetched = (await client.get(f"{WFE_PATH}/wfe-1")).json()
    assert fetched == response.json()


async def test_resource_versions_come_from_one_global_counter(
    client: httpx.AsyncClient, make_wfe: Factory, make_pipelinerun: Factory
) -> None:
    first = (await client.post(WFE_PATH, json=make_wfe("a"))).json()
    second = await client.post(
        "/apis/tekton.dev/v1/namespaces/default/pipelineruns", json=make_pipelinerun("pr")
    )
    assert int(second.json()["metadata"]["resourceVersion"]) == (
        int(first["metadata"]["resourceVersion"]) + 1
    )


async def test_create_of_existing_name_is_409_already_exists(
    client: httpx.AsyncClient, make_wfe: Factory
) -> None:
    await _create(client, make_wfe)
    response = await client.post(WFE_PATH, json=make_wfe())
    assert response.status_code == 409
    body = response.json()
    assert (body["kind"], body["reason"], body["code"]) == ("Status", "AlreadyExists", 409)
    assert body["details"]["name"] == "wfe-1"


async def test_get_of_missing_object_is_404_not_found_status(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{WFE_PATH}/nope")
    assert response.status_code == 404
    body = response.json()
    assert body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'workflowexecutions.kubernaut.ai "nope" not found',
        "reason": "NotFound",
        "code": 404,
        "details": {"name": "nope", "group": "kubernaut.ai", "kind": "workflowexecutions"},
    }


async def test_create_in_missing_namespace_is_404(
    client: httpx.AsyncClient, make_wfe: Factory
) -> None:
    path = "/apis/kubernaut.ai/v1alpha1/namespaces/ghost/workflowexecutions"
    body = make_wfe()
    body["metadata"]["namespace"] = "ghost"
    response = await client.post(path, json=body)
    assert response.status_code == 404
    assert response.json()["message"] == 'namespaces "ghost" not found'
    assert response.json()["reason"] == "NotFound"


async def test_created_namespace_accepts_objects(
    client: httpx.AsyncClient, make_pipelinerun: Factory
) -> None:
    created = await client.post("/api/v1/namespaces", json={"metadata": {"name": "team-a"}})
    assert created.status_code == 201
    path = "/apis/tekton.dev/v1/namespaces/team-a/pipelineruns"
    assert (await client.post(path, json=make_pipelinerun("pr", "team-a"))).status_code == 201


async def test_namespace_mismatch_between_body_and_url_is_400(
    client: httpx.AsyncClient, make_wfe: Factory
) -> None:
    body = make_wfe()
    body["metadata"]["namespace"] = "kube-system"
    assert (await client.post(WFE_PATH, json=body)).status_code == 400


async def test_generate_name_creates_distinct_objects(
    client: httpx.AsyncClient, make_wfe: Factory
) -> None:
    names = set()
    for _ in range(5):
        body = make_wfe()
        del body["metadata"]["name"]
        body["metadata"]["generateName"] = "wfe-"
        response = await client.post(WFE_PATH, json=body)
        assert response.status_code == 201
        names.add(response.json()["metadata"]["name"])
    assert len(names) == 5
    assert all(name.startswith("wfe-") and len(name) == 9 for name in names)
    listing = (await client.get(WFE_PATH)).json()
    assert {item["metadata"]["name"] for item in listing["items"]} == names


async def test_missing_name_and_generate_name_is_422(
    client: httpx.AsyncClient, make_wfe: Factory
) -> None:
    body = make_wfe()
    del body["metadata"]["name"]
    response = await client.post(WFE_PATH, json=body)
    assert response.status_code == 422
    assert response.json()["details"]["causes"][0]["field"] == "metadata.name"


async def test_create_ignores_status_of_status_subresource_kinds(
    client: httpx.AsyncClient, make_wfe: Factory
) -> None:
    body = make_wfe()
    body["status"] = {"phase": "Running"}
    created = (await client.post(WFE_PATH, json=body)).json()
    assert "status" not in created


async def test_put_with_stale_resource_version_is_409_conflict(
    client: httpx.AsyncClient, make_wfe: Factory
) -> None:
    created = await _create(client, make_wfe)
    fresh = (
        await client.patch(
            f"{WFE_PATH}/wfe-1", json={"metadata": {"labels": {"a": "b"}}}, headers=MERGE
        )
    ).json()
    assert fresh["metadata"]["resourceVersion"] != created["metadata"]["resourceVersion"]
    response = await client.put(f"{WFE_PATH}/wfe-1", json=created)
    assert response.status_code == 409
    assert response.json()["reason"] == "Conflict"
    assert "the object has been modified" in response.json()["message"]


async def test_put_without_resource_version_is_422_for_custom_resources(
    client: httpx.AsyncClient,
    make_wfe: Factory,
) -> None:
    await _create(client, make_wfe)
    response = await client.put(f"{WFE_PATH}/wfe-1", json=make_wfe())
    assert response.status_code == 422


async def test_merge_patch_with_stale_resource_version_is_409(
    client: httpx.AsyncClient, make_wfe: Factory
) -> None:
    created = await _create(client, make_wfe)
    await client.patch(
        f"{WFE_PATH}/wfe-1", json={"metadata": {"labels": {"x": "1"}}}, headers=MERGE
    )
    stale = {
        "metadata": {
            "resourceVersion": created["metadata"]["resourceVersion"],
            "labels": {"x": "2"},
        }
    }
    response = await client.patch(f"{WFE_PATH}/wfe-1", json=stale, headers=MERGE)
    assert response.status_code == 409


async def test_put_to_missing_object_is_404(client: httpx.AsyncClient, make_wfe: Factory) -> None:
    body = make_wfe("ghost")
    body["metadata"]["resourceVersion"] = "1"
    assert (await client.put(f"{WFE_PATH}/ghost", json=body)).status_code == 404


async def test_main_endpoint_patch_of_status_is_ignored(
    client: httpx.AsyncClient, make_wfe: Factory
) -> None:
    created = await _create(client, make_wfe)
    response = await client.patch(
        f"{WFE_PATH}/wfe-1",
        json={"status": {"phase": "Running"}, "metadata": {"labels": {"seen": "yes"}}},
        headers=MERGE,
    )
    assert response.status_code == 200
    body = response.json()
    assert "status" not in body
    assert body["metadata"]["labels"] == {"seen": "yes"}
    assert body["metadata"]["generation"] == created["metadata"]["generation"]


async def test_status_endpoint_ignores_spec_and_metadata(
    client: httpx.AsyncClient, make_wfe: Factory
) -> None:
    await _create(client, make_wfe)
    response = await client.patch(
        f"{WFE_PATH}/wfe-1/status",
        json={
            "status": {"phase": "Running"},
            "spec": {"targetResource": "other/deployment/x"},
            "metadata": {"labels": {"sneaky": "yes"}},
        },
        headers=MERGE,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == {"phase": "Running"}
    assert body["spec"]["targetResource"] == "default/deployment/nginx"
    assert "labels" not in body["metadata"]
    assert body["metadata"]["generation"] == 1


async def test_status_put_replaces_only_status(
    client: httpx.AsyncClient, make_wfe: Factory
) -> None:
    created = await _create(client, make_wfe)
    body = dict(created)
    body["status"] = {"phase": "Pending"}
    response = await client.put(f"{WFE_PATH}/wfe-1/status", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == {"phase": "Pending"}


async def test_generation_bumps_on_spec_change_only(
    client: httpx.AsyncClient, make_pipelinerun: Factory
) -> None:
    path = "/apis/tekton.dev/v1/namespaces/default/pipelineruns"
    await client.post(path, json=make_pipelinerun("pr"))
    labels = await client.patch(
        f"{path}/pr", json={"metadata": {"labels": {"a": "b"}}}, headers=MERGE
    )
    assert labels.json()["metadata"]["generation"] == 1
    spec = await client.patch(f"{path}/pr", json={"spec": {"status": "Cancelled"}}, headers=MERGE)
    assert spec.json()["metadata"]["generation"] == 2


async def test_noop_update_keeps_resource_version(
    client: httpx.AsyncClient, make_wfe: Factory
) -> None:
    created = await _create(client, make_wfe)
    response = await client.patch(f"{WFE_PATH}/wfe-1", json={}, headers=MERGE)
    assert (
        response.json()["metadata"]["resourceVersion"] == (created["metadata"]["resourceVersion"])
    )


@pytest.mark.parametrize("name", ["UPPER", "under_score", "-dash", "a" * 254])
async def test_invalid_object_names_are_422(
    client: httpx.AsyncClient, make_wfe: Factory, name: str
) -> None:
    response = await client.post(WFE_PATH, json=make_wfe(name))
    assert response.status_code == 422
    assert response.json()["details"]["causes"][0]["field"] == "metadata.name"


async def test_cluster_scoped_and_cross_namespace_lists(
    client: httpx.AsyncClient, make_pipelinerun: Factory
) -> None:
    await client.post("/api/v1/namespaces", json={"metadata": {"name": "other"}})
    await client.post(
        "/apis/tekton.dev/v1/namespaces/default/pipelineruns", json=make_pipelinerun("a")
    )
    await client.post(
        "/apis/tekton.dev/v1/namespaces/other/pipelineruns", json=make_pipelinerun("b", "other")
    )
    everywhere = (await client.get("/apis/tekton.dev/v1/pipelineruns")).json()
    assert [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in everywhere["items"]] == [
        ("default", "a"),
        ("other", "b"),
    ]
    assert everywhere["kind"] == "PipelineRunList"
    only_other = (await client.get("/apis/tekton.dev/v1/namespaces/other/pipelineruns")).json()
    assert [i["metadata"]["name"] for i in only_other["items"]] == ["b"]


@pytest.mark.parametrize(
    "labels",
    [
        {"key": "x" * 64},
        {"key": "ends-with-dash-"},
        {"bad key": "v"},
        {"Example.COM/name": "v"},
        {"example.com/": "v"},
    ],
)
async def test_invalid_labels_are_422(
    client: httpx.AsyncClient, make_pipelinerun: Factory, labels: dict[str, str]
) -> None:
    body = make_pipelinerun("pr")
    body["metadata"]["labels"] = labels
    response = await client.post("/apis/tekton.dev/v1/namespaces/default/pipelineruns", json=body)
    assert response.status_code == 422
    assert response.json()["details"]["causes"][0]["field"] == "metadata.labels"


async def test_valid_qualified_labels_are_accepted(
    client: httpx.AsyncClient, make_pipelinerun: Factory
) -> None:
    body = make_pipelinerun("pr")
    body["metadata"]["labels"] = {"kubernaut.ai/workflow-execution": "a" * 63, "empty": ""}
    response = await client.post("/apis/tekton.dev/v1/namespaces/default/pipelineruns", json=body)
    assert response.status_code == 201, response.text


async def test_owner_reference_without_uid_is_422(
    client: httpx.AsyncClient, make_pipelinerun: Factory
) -> None:
    body = make_pipelinerun("pr")
    body["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "X", "name": "x"}]
    response = await client.post("/apis/tekton.dev/v1/namespaces/default/pipelineruns", json=body)
    assert response.status_code == 422
    assert response.json()["details"]["causes"][0]["field"] == "metadata.ownerReferences[0].uid"


@pytest.mark.parametrize(
    ("metadata", "field"),
    [
        ({"finalizers": ["not a valid finalizer"]}, "metadata.finalizers[0]"),
        ({"annotations": {"bad key!": "v"}}, "metadata.annotations"),
        ({"annotations": {"big": "x" * (256 * 1024 + 1)}}, "metadata.annotations"),
    ],
)
async def test_invalid_finalizers_and_annotations_are_422(
    client: httpx.AsyncClient, make_pipelinerun: Factory, metadata: dict[str, Any], field: str
) -> None:
    body = make_pipelinerun("pr")
    body["metadata"].update(metadata)
    response = await client.post("/apis/tekton.dev/v1/namespaces/default/pipelineruns", json=body)
    assert response.status_code == 422
    assert response.json()["details"]["causes"][0]["field"] == field
