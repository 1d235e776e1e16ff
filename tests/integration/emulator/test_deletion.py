"""Deletion: finalizers, deletionTimestamp, preconditions, owner and namespace cleanup."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

PR_PATH = "/apis/tekton.dev/v1/namespaces/default/pipelineruns"
TR_PATH = "/apis/tekton.dev/v1/namespaces/default/taskruns"
MERGE = {"Content-Type": "application/merge-patch+json"}
Factory = Callable[..., dict[str, Any]]


async def _create(client: httpx.AsyncClient, body: dict[str, Any], path: str = PR_PATH) -> Any:
    response = await client.post(path, json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def test_delete_without_finalizers_removes_the_object(
    client: httpx.AsyncClient, make_pipelinerun: Factory
) -> None:
    await _create(client, make_pipelinerun("pr"))
    response = await client.delete(f"{PR_PATH}/pr")
    assert response.status_code == 200
    assert (await client.get(f"{PR_PATH}/pr")).status_code == 404
    again = await client.delete(f"{PR_PATH}/pr")
    assert again.status_code == 404


async def test_delete_with_finalizers_sets_deletion_timestamp_and_bumps_generation_once(
    client: httpx.AsyncClient, make_pipelinerun: Factory
) -> None:
    body = make_pipelinerun("pr")
    body["metadata"]["finalizers"] = ["example.com/keep"]
    created = await _create(client, body)
    first = await client.delete(f"{PR_PATH}/pr")
    assert first.status_code == 200
    deleting = first.json()
    assert deleting["metadata"]["deletionTimestamp"]
    assert deleting["metadata"]["generation"] == created["metadata"]["generation"] + 1
    second = (await client.delete(f"{PR_PATH}/pr")).json()
    assert second["metadata"]["generation"] == deleting["metadata"]["generation"]
    assert second["metadata"]["resourceVersion"] == deleting["metadata"]["resourceVersion"]
    assert (await client.get(f"{PR_PATH}/pr")).status_code == 200


async def test_removing_the_last_finalizer_of_a_deleting_object_deletes_it(
    client: httpx.AsyncClient, make_pipelinerun: Factory
) -> None:
    body = make_pipelinerun("pr")
    body["metadata"]["finalizers"] = ["example.com/a", "example.com/b"]
    await _create(client, body)
    await client.delete(f"{PR_PATH}/pr")
    one_left = await client.patch(
        f"{PR_PATH}/pr", json={"metadata": {"finalizers": ["example.com/b"]}}, headers=MERGE
    )
    assert one_left.status_code == 200
    assert (await client.get(f"{PR_PATH}/pr")).status_code == 200
    gone = await client.patch(
        f"{PR_PATH}/pr", json={"metadata": {"finalizers": None}}, headers=MERGE
    )
    assert gone.status_code == 200
    assert (await client.get(f"{PR_PATH}/pr")).status_code == 404


async def test_no_new_finalizers_on_a_deleting_object(
    client: httpx.AsyncClient, make_pipelinerun: Factory
) -> None:
    body = make_pipelinerun("pr")
    body["metadata"]["finalizers"] = ["example.com/a"]
    await _create(client, body)
    await client.delete(f"{PR_PATH}/pr")
    response = await client.patch(
        f"{PR_PATH}/pr",
        json={"metadata": {"finalizers": ["example.com/a", "example.com/new"]}},
        headers=MERGE,
    )
    assert response.status_code == 422


@pytest.mark.parametrize("field", ["uid", "resourceVersion"])
async def test_delete_preconditions_that_do_not_match_are_409(
    client: httpx.AsyncClient, make_pipelinerun: Factory, field: str
) -> None:
    created = await _create(client, make_pipelinerun("pr"))
    response = await client.request(
        "DELETE",
        f"{PR_PATH}/pr",
        json={
            "kind": "DeleteOptions",
            "apiVersion": "v1",
            "preconditions": {field: "not-the-one"},
            "propagationPolicy": "Background",
        },
    )
    assert response.status_code == 409
    assert "Precondition failed" in response.json()["message"]
    matching = await client.request(
        "DELETE",
        f"{PR_PATH}/pr",
        json={
            "preconditions": {field: created["metadata"][field]},
            "propagationPolicy": "Foreground",
        },
    )
    assert matching.status_code == 200


async def test_unknown_propagation_policy_is_400(
    client: httpx.AsyncClient, make_pipelinerun: Factory
) -> None:
    await _create(client, make_pipelinerun("pr"))
    response = await client.request("DELETE", f"{PR_PATH}/pr", json={"propagationPolicy": "Eh"})
    assert response.status_code == 400


async def test_owned_objects_are_garbage_collected(
    client: httpx.AsyncClient, make_pipelinerun: Factory
) -> None:
    owner = await _create(client, make_pipelinerun("pr"))
    child = {
        "apiVersion": "tekton.dev/v1",
        "kind": "TaskRun",
        "metadata": {
            "name": "pr-hello",
            "ownerReferences": [
                {
                    "apiVersion": "tekton.dev/v1",
                    "kind": "PipelineRun",
                    "name": "pr",
                    "uid": owner["metadata"]["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {},
    }
    await _create(client, child, TR_PATH)
    await client.delete(f"{PR_PATH}/pr")
    assert (await client.get(f"{TR_PATH}/pr-hello")).status_code == 404


async def test_delete_collection_with_label_selector(
    client: httpx.AsyncClient, make_pipelinerun: Factory
) -> None:
    await _create(client, make_pipelinerun("a", batch="1"))
    await _create(client, make_pipelinerun("b", batch="2"))
    response = await client.delete(PR_PATH, params={"labelSelector": "batch=1"})
    assert response.status_code == 200
    names = [i["metadata"]["name"] for i in (await client.get(PR_PATH)).json()["items"]]
    assert names == ["b"]


async def test_deleting_a_namespace_deletes_its_objects(
    client: httpx.AsyncClient, make_pipelinerun: Factory
) -> None:
    await client.post("/api/v1/namespaces", json={"metadata": {"name": "doomed"}})
    path = "/apis/tekton.dev/v1/namespaces/doomed/pipelineruns"
    await _create(client, make_pipelinerun("pr", "doomed"), path)
    await client.delete("/api/v1/namespaces/doomed")
    assert (await client.get(f"{path}/pr")).status_code == 404
    assert (await client.post(path, json=make_pipelinerun("pr2", "doomed"))).status_code == 404
