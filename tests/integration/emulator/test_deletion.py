"""Deletion: finalizers, deletionTimestamp, preconditions, owner and namespace cleanup, on the
emulator and the real API server alike. The real server's garbage collector and namespace
controller work in the background (the namespace controller waits about 5 s before it starts):
what they do is awaited, what the API server itself does is expected at once."""

from __future__ import annotations

from typing import Any

import pytest

from .fidelity import MERGE, Api  # noqa: TID252


def _with_finalizers(body: dict[str, Any], *finalizers: str) -> dict[str, Any]:
    body["metadata"]["finalizers"] = list(finalizers)
    return body


async def test_delete_without_finalizers_removes_the_object(api: Api) -> None:
    created = await api.create(api.prs, api.pipelinerun("pr"))
    response = await api.client.delete(f"{api.prs}/pr")
    assert response.status_code == 200
    # the object is gone: the answer is a Status, not the object
    assert response.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {
            "name": "pr",
            "group": "tekton.dev",
            "kind": "pipelineruns",
            "uid": created["metadata"]["uid"],
        },
    }
    assert await api.status_code(f"{api.prs}/pr") == 404
    again = await api.client.delete(f"{api.prs}/pr")
    assert again.status_code == 404
    assert again.json()["reason"] == "NotFound"


async def test_custom_resources_have_no_graceful_deletion(api: Api) -> None:
    # a grace period means nothing to a custom resource: without finalizers it goes at once,
    # with them its deletionGracePeriodSeconds is 0
    await api.create(api.prs, api.pipelinerun("plain"))
    await api.create(api.prs, _with_finalizers(api.pipelinerun("held"), "example.com/k"))
    grace = {"gracePeriodSeconds": 30}
    assert (await api.client.request("DELETE", f"{api.prs}/plain", json=grace)).status_code == 200
    assert await api.status_code(f"{api.prs}/plain") == 404
    held = await api.client.request("DELETE", f"{api.prs}/held", json=grace)
    assert held.json()["metadata"]["deletionGracePeriodSeconds"] == 0


async def test_delete_of_a_core_object_answers_a_status_without_group(api: Api) -> None:
    path = api.path("configmaps")
    created = await api.create(path, {"metadata": {"name": "cm"}, "data": {"a": "b"}})
    response = await api.client.delete(f"{path}/cm")
    assert response.status_code == 200
    assert response.json()["details"] == {
        "name": "cm",
        "kind": "configmaps",
        "uid": created["metadata"]["uid"],
    }


async def test_delete_with_finalizers_sets_deletion_timestamp_and_bumps_generation_once(
    api: Api,
) -> None:
    created = await api.create(api.prs, _with_finalizers(api.pipelinerun("pr"), "example.com/k"))
    first = await api.client.delete(f"{api.prs}/pr")
    assert first.status_code == 200
    deleting = first.json()
    assert deleting["kind"] == "PipelineRun"
    assert deleting["metadata"]["deletionTimestamp"]
    assert deleting["metadata"]["deletionGracePeriodSeconds"] == 0
    assert deleting["metadata"]["generation"] == created["metadata"]["generation"] + 1
    second = (await api.client.delete(f"{api.prs}/pr")).json()
    assert second["metadata"]["generation"] == deleting["metadata"]["generation"]
    assert second["metadata"]["resourceVersion"] == deleting["metadata"]["resourceVersion"]
    assert await api.status_code(f"{api.prs}/pr") == 200


async def test_removing_the_last_finalizer_of_a_deleting_object_deletes_it(api: Api) -> None:
    body = _with_finalizers(api.pipelinerun("pr"), "example.com/a", "example.com/b")
    await api.create(api.prs, body)
    await api.client.delete(f"{api.prs}/pr")
    one_left = await api.client.patch(
        f"{api.prs}/pr", json={"metadata": {"finalizers": ["example.com/b"]}}, headers=MERGE
    )
    assert one_left.status_code == 200
    assert await api.status_code(f"{api.prs}/pr") == 200
    gone = await api.client.patch(
        f"{api.prs}/pr", json={"metadata": {"finalizers": None}}, headers=MERGE
    )
    assert gone.status_code == 200
    assert "finalizers" not in gone.json()["metadata"]
    assert await api.status_code(f"{api.prs}/pr") == 404


async def test_no_new_finalizers_on_a_deleting_object(api: Api) -> None:
    await api.create(api.prs, _with_finalizers(api.pipelinerun("pr"), "example.com/a"))
    await api.client.delete(f"{api.prs}/pr")
    response = await api.client.patch(
        f"{api.prs}/pr",
        json={"metadata": {"finalizers": ["example.com/a", "example.com/new"]}},
        headers=MERGE,
    )
    assert response.status_code == 422
    message = (
        "Forbidden: no new finalizers can be added if the object is being deleted, found new "
        'finalizers []string{"example.com/new"}'
    )
    assert response.json()["message"] == (
        f'PipelineRun.tekton.dev "pr" is invalid: metadata.finalizers: {message}'
    )
    # (the real server lists this cause twice, checked once for the object and once for its
    # custom resource: the set of causes is what agrees)
    causes = response.json()["details"]["causes"]
    assert {(c["field"], c["reason"], c["message"]) for c in causes} == {
        ("metadata.finalizers", "FieldValueForbidden", message)
    }


@pytest.mark.parametrize(
    ("field", "label", "hint"),
    [
        ("uid", "UID", "The object might have been deleted and then recreated"),
        ("resourceVersion", "ResourceVersion", "The object might have been modified"),
    ],
    ids=["uid", "resourceVersion"],
)
async def test_delete_preconditions_that_do_not_match_are_409(
    api: Api, field: str, label: str, hint: str
) -> None:
    created = await api.create(api.prs, api.pipelinerun("pr"))
    response = await api.client.request(
        "DELETE",
        f"{api.prs}/pr",
        json={
            "kind": "DeleteOptions",
            "apiVersion": "v1",
            "preconditions": {field: "not-the-one"},
            "propagationPolicy": "Background",
        },
    )
    assert response.status_code == 409
    assert response.json()["reason"] == "Conflict"
    assert response.json()["message"] == (
        f'Operation cannot be fulfilled on PipelineRun.tekton.dev "pr": the {label} in the '
        f"precondition (not-the-one) does not match the {label} in record "
        f"({created['metadata'][field]}). {hint}"
    )
    assert response.json()["details"] == {
        "name": "pr",
        "group": "tekton.dev",
        "kind": "PipelineRun",
    }
    matching = await api.client.request(
        "DELETE",
        f"{api.prs}/pr",
        json={"preconditions": {field: created["metadata"][field]}},
    )
    assert matching.status_code == 200
    assert await api.status_code(f"{api.prs}/pr") == 404


async def test_put_with_another_uid_is_409(api: Api) -> None:
    created = await api.create(api.prs, api.pipelinerun("pr"))
    body = {**created, "metadata": {**created["metadata"], "uid": "not-the-one"}}
    response = await api.client.put(f"{api.prs}/pr", json=body)
    assert response.status_code == 409
    assert response.json()["message"] == (
        'Operation cannot be fulfilled on pipelineruns.tekton.dev "pr": StorageError: invalid '
        f"object, Code: 4, Key: /registry/tekton.dev/pipelineruns/{api.namespace}/pr, "
        "ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in precondition: "
        f"not-the-one, UID in object meta: {created['metadata']['uid']}"
    )


@pytest.mark.parametrize("exists", [True, False], ids=["existing", "missing"])
async def test_unknown_propagation_policy_is_422_before_the_lookup(api: Api, exists: bool) -> None:
    if exists:
        await api.create(api.prs, api.pipelinerun("pr"))
    response = await api.client.request("DELETE", f"{api.prs}/pr", json={"propagationPolicy": "Eh"})
    assert response.status_code == 422
    message = (
        'Unsupported value: "Eh": supported values: "Foreground", "Background", "Orphan", "nil"'
    )
    assert response.json()["message"] == (
        f'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: {message}'
    )
    assert response.json()["details"] == {
        "group": "meta.k8s.io",
        "kind": "DeleteOptions",
        "causes": [
            {"reason": "FieldValueNotSupported", "message": message, "field": "propagationPolicy"}
        ],
    }


async def test_owned_objects_are_garbage_collected(api: Api) -> None:
    # ConfigMaps own and are owned here: the real server's garbage collector watches the
    # built-in kinds from its start, custom resources only from its first resync (30 s) after
    # their CRD appears. The emulator collects every kind alike, and at once.
    path = api.path("configmaps")
    owner = await api.create(path, {"metadata": {"name": "owner"}})
    reference = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": "owner",
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }
    await api.create(path, {"metadata": {"name": "owned", "ownerReferences": [reference]}})
    await api.create(path, {"metadata": {"name": "bystander"}})
    await api.client.delete(f"{path}/owner")

    async def collected() -> bool:
        return await api.status_code(f"{path}/owned") == 404

    await api.eventually(collected, "the garbage collector to delete the owned ConfigMap")
    assert await api.status_code(f"{path}/bystander") == 200


async def test_delete_collection_with_label_selector(api: Api) -> None:
    await api.create(api.prs, api.pipelinerun("a", batch="1"))
    await api.create(api.prs, api.pipelinerun("b", batch="2"))
    response = await api.client.delete(api.prs, params={"labelSelector": "batch=1"})
    assert response.status_code == 200
    assert response.json()["kind"] == "PipelineRunList"
    assert [i["metadata"]["name"] for i in response.json()["items"]] == ["a"]
    names = [i["metadata"]["name"] for i in (await api.client.get(api.prs)).json()["items"]]
    assert names == ["b"]


async def test_deleting_a_namespace_terminates_it_until_its_objects_are_gone(api: Api) -> None:
    doomed = await api.create_namespace("doomed")
    path = api.path("pipelineruns", doomed)
    await api.create(path, api.pipelinerun("plain", doomed))
    await api.create(path, _with_finalizers(api.pipelinerun("kept", doomed), "example.com/k"))

    response = await api.client.delete(f"/api/v1/namespaces/{doomed}")
    assert response.status_code == 200
    terminating = response.json()
    assert terminating["kind"] == "Namespace"
    assert terminating["status"] == {"phase": "Terminating"}
    assert terminating["metadata"]["deletionTimestamp"]
    assert terminating["spec"] == {"finalizers": ["kubernetes"]}
    again = await api.client.delete(f"/api/v1/namespaces/{doomed}")
    assert (
        again.json()["metadata"]["resourceVersion"] == (terminating["metadata"]["resourceVersion"])
    )

    refused = await api.client.post(path, json=api.pipelinerun("late", doomed))
    assert refused.status_code == 403
    assert refused.json()["reason"] == "Forbidden"
    assert refused.json()["message"] == (
        f'pipelineruns.tekton.dev "late" is forbidden: unable to create new content in '
        f"namespace {doomed} because it is being terminated"
    )
    assert refused.json()["details"]["causes"] == [
        {
            "reason": "NamespaceTerminating",
            "message": f"namespace {doomed} is being terminated",
            "field": "metadata.namespace",
        }
    ]

    async def emptied() -> dict[str, Any] | None:
        kept = (await api.client.get(f"{path}/kept")).json()
        plain_gone = await api.status_code(f"{path}/plain") == 404
        return kept if plain_gone and kept["metadata"].get("deletionTimestamp") else None

    kept = await api.eventually(
        emptied, "the namespace controller to delete the namespace's objects"
    )
    assert kept["metadata"]["finalizers"] == ["example.com/k"]
    # the finalizer holds the namespace
    namespace = (await api.client.get(f"/api/v1/namespaces/{doomed}")).json()
    assert namespace["status"]["phase"] == "Terminating"

    await api.client.patch(f"{path}/kept", json={"metadata": {"finalizers": None}}, headers=MERGE)

    async def namespace_gone() -> bool:
        return await api.status_code(f"/api/v1/namespaces/{doomed}") == 404

    await api.eventually(namespace_gone, "the namespace to go once empty")
    missing = await api.client.post(path, json=api.pipelinerun("later", doomed))
    assert missing.status_code == 404
    assert missing.json()["message"] == f'namespaces "{doomed}" not found'
