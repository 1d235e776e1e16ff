"""Create, read, update and status-subresource semantics, on the emulator and the real API
server alike."""

from __future__ import annotations

from typing import Any

import pytest

from .fidelity import MERGE, Api, unique  # noqa: TID252


async def _create(api: Api, name: str = "wfe-1") -> dict[str, Any]:
    return await api.create(api.wfes, api.wfe(name))


async def test_create_answers_201_with_system_metadata(api: Api) -> None:
    response = await api.client.post(api.wfes, json=api.wfe())
    assert response.status_code == 201
    meta = response.json()["metadata"]
    assert meta["uid"]
    assert meta["creationTimestamp"].endswith("Z")
    assert meta["generation"] == 1
    assert meta["resourceVersion"].isdigit()
    fetched = (await api.client.get(f"{api.wfes}/wfe-1")).json()
    assert fetched == response.json()


async def test_resource_versions_come_from_one_global_counter(api: Api) -> None:
    # Other writers share the real server: each write gets a later version than every write
    # before it, whatever its resource (not necessarily the next number).
    first = await api.create(api.wfes, api.wfe("a"))
    second = await api.create(api.prs, api.pipelinerun("pr"))
    third = await api.create(api.wfes, api.wfe("b"))
    versions = [int(o["metadata"]["resourceVersion"]) for o in (first, second, third)]
    assert versions == sorted(set(versions))
    empty = (await api.client.get(api.trs)).json()
    assert empty["items"] == []
    assert int(empty["metadata"]["resourceVersion"]) >= versions[-1]


async def test_create_of_existing_name_is_409_already_exists(api: Api) -> None:
    await _create(api)
    response = await api.client.post(api.wfes, json=api.wfe())
    assert response.status_code == 409
    body = response.json()
    assert (body["kind"], body["reason"], body["code"]) == ("Status", "AlreadyExists", 409)
    assert body["message"] == 'workflowexecutions.kubernaut.ai "wfe-1" already exists'
    assert body["details"] == {
        "name": "wfe-1",
        "group": "kubernaut.ai",
        "kind": "workflowexecutions",
    }


async def test_get_of_missing_object_is_404_not_found_status(api: Api) -> None:
    response = await api.client.get(f"{api.wfes}/nope")
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


async def test_get_of_missing_core_object_has_no_group_in_details(api: Api) -> None:
    response = await api.client.get(f"{api.path('configmaps')}/nope")
    assert response.status_code == 404
    body = response.json()
    assert body["message"] == 'configmaps "nope" not found'
    assert body["details"] == {"name": "nope", "kind": "configmaps"}


async def test_create_in_missing_namespace_is_404(api: Api) -> None:
    ghost = unique("ghost")
    body = api.wfe()
    body["metadata"]["namespace"] = ghost
    response = await api.client.post(api.path("workflowexecutions", ghost), json=body)
    assert response.status_code == 404
    assert response.json()["message"] == f'namespaces "{ghost}" not found'
    assert response.json()["reason"] == "NotFound"
    assert response.json()["details"] == {"name": ghost, "kind": "namespaces"}


async def test_created_namespace_accepts_objects(api: Api) -> None:
    team = await api.create_namespace("team")
    namespace = (await api.client.get(f"/api/v1/namespaces/{team}")).json()
    assert namespace["status"] == {"phase": "Active"}
    assert namespace["spec"] == {"finalizers": ["kubernetes"]}
    assert namespace["metadata"]["labels"] == {"kubernetes.io/metadata.name": team}
    created = await api.client.post(
        api.path("pipelineruns", team), json=api.pipelinerun("pr", team)
    )
    assert created.status_code == 201


async def test_namespace_mismatch_between_body_and_url_is_400(api: Api) -> None:
    body = api.wfe()
    body["metadata"]["namespace"] = "kube-system"
    response = await api.client.post(api.wfes, json=body)
    assert response.status_code == 400
    assert response.json()["reason"] == "BadRequest"
    assert "does not match the namespace sent on the request" in response.json()["message"]


async def test_generate_name_creates_distinct_objects(api: Api) -> None:
    names = set()
    for _ in range(5):
        body = api.wfe()
        del body["metadata"]["name"]
        body["metadata"]["generateName"] = "wfe-"
        response = await api.client.post(api.wfes, json=body)
        assert response.status_code == 201
        names.add(response.json()["metadata"]["name"])
    assert len(names) == 5
    assert all(name.startswith("wfe-") and len(name) == 9 for name in names)
    listing = (await api.client.get(api.wfes)).json()
    assert {item["metadata"]["name"] for item in listing["items"]} == names


async def test_missing_name_and_generate_name_is_422(api: Api) -> None:
    body = api.wfe()
    del body["metadata"]["name"]
    response = await api.client.post(api.wfes, json=body)
    assert response.status_code == 422
    cause = response.json()["details"]["causes"][0]
    assert cause["field"] == "metadata.name"
    assert cause["message"] == "Required value: name or generateName is required"


async def test_create_ignores_status_of_status_subresource_kinds(api: Api) -> None:
    body = api.wfe()
    body["status"] = {"phase": "Running"}
    created = (await api.client.post(api.wfes, json=body)).json()
    assert "status" not in created


async def test_put_with_stale_resource_version_is_409_conflict(api: Api) -> None:
    created = await _create(api)
    fresh = (
        await api.client.patch(
            f"{api.wfes}/wfe-1", json={"metadata": {"labels": {"a": "b"}}}, headers=MERGE
        )
    ).json()
    assert fresh["metadata"]["resourceVersion"] != created["metadata"]["resourceVersion"]
    response = await api.client.put(f"{api.wfes}/wfe-1", json=created)
    assert response.status_code == 409
    assert response.json()["reason"] == "Conflict"
    assert response.json()["message"] == (
        'Operation cannot be fulfilled on workflowexecutions.kubernaut.ai "wfe-1": the object '
        "has been modified; please apply your changes to the latest version and try again"
    )


async def test_put_without_resource_version_is_422_for_custom_resources(api: Api) -> None:
    await _create(api)
    response = await api.client.put(f"{api.wfes}/wfe-1", json=api.wfe())
    assert response.status_code == 422
    assert response.json()["details"]["causes"][0]["field"] == "metadata.resourceVersion"


async def test_merge_patch_with_stale_resource_version_is_409(api: Api) -> None:
    created = await _create(api)
    await api.client.patch(
        f"{api.wfes}/wfe-1", json={"metadata": {"labels": {"x": "1"}}}, headers=MERGE
    )
    stale = {
        "metadata": {
            "resourceVersion": created["metadata"]["resourceVersion"],
            "labels": {"x": "2"},
        }
    }
    response = await api.client.patch(f"{api.wfes}/wfe-1", json=stale, headers=MERGE)
    assert response.status_code == 409
    assert response.json()["reason"] == "Conflict"


async def test_put_to_missing_object_is_404(api: Api) -> None:
    body = api.wfe("ghost")
    body["metadata"]["resourceVersion"] = "1"
    assert (await api.client.put(f"{api.wfes}/ghost", json=body)).status_code == 404


async def test_main_endpoint_patch_of_status_is_ignored(api: Api) -> None:
    created = await _create(api)
    response = await api.client.patch(
        f"{api.wfes}/wfe-1",
        json={"status": {"phase": "Running"}, "metadata": {"labels": {"seen": "yes"}}},
        headers=MERGE,
    )
    assert response.status_code == 200
    body = response.json()
    assert "status" not in body
    assert body["metadata"]["labels"] == {"seen": "yes"}
    assert body["metadata"]["generation"] == created["metadata"]["generation"]


async def test_status_endpoint_ignores_spec_and_metadata(api: Api) -> None:
    await _create(api)
    response = await api.client.patch(
        f"{api.wfes}/wfe-1/status",
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


async def test_status_put_replaces_only_status(api: Api) -> None:
    created = await _create(api)
    body = dict(created)
    body["status"] = {"phase": "Pending"}
    response = await api.client.put(f"{api.wfes}/wfe-1/status", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == {"phase": "Pending"}


async def test_generation_bumps_on_spec_change_only(api: Api) -> None:
    await api.create(api.prs, api.pipelinerun("pr"))
    labels = await api.client.patch(
        f"{api.prs}/pr", json={"metadata": {"labels": {"a": "b"}}}, headers=MERGE
    )
    assert labels.json()["metadata"]["generation"] == 1
    spec = await api.client.patch(
        f"{api.prs}/pr", json={"spec": {"status": "Cancelled"}}, headers=MERGE
    )
    assert spec.json()["metadata"]["generation"] == 2


async def test_noop_update_keeps_resource_version(api: Api) -> None:
    created = await _create(api)
    response = await api.client.patch(f"{api.wfes}/wfe-1", json={}, headers=MERGE)
    assert (
        response.json()["metadata"]["resourceVersion"] == (created["metadata"]["resourceVersion"])
    )


SUBDOMAIN = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    r"for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)


@pytest.mark.parametrize(
    ("name", "problems"),
    [
        ("UPPER", [SUBDOMAIN]),
        ("under_score", [SUBDOMAIN]),
        ("-dash", [SUBDOMAIN]),
        ("a" * 254, ["must be no more than 253 characters"]),
        ("a" * 253 + "-", ["must be no more than 253 characters", SUBDOMAIN]),
    ],
    ids=["upper", "underscore", "dash", "long", "long-and-dash"],
)
async def test_invalid_object_names_are_422(api: Api, name: str, problems: list[str]) -> None:
    response = await api.client.post(api.wfes, json=api.wfe(name))
    assert response.status_code == 422
    causes = response.json()["details"]["causes"]
    assert [c["field"] for c in causes] == ["metadata.name"] * len(problems)
    assert [c["message"] for c in causes] == [f'Invalid value: "{name}": {p}' for p in problems]


async def test_cluster_scoped_and_cross_namespace_lists_in_etcd_key_order(api: Api) -> None:
    # Lists come in the order of etcd keys, `<namespace>/<name>`: "ns-x/b" before "ns/a".
    other = await api.create_namespace(api.namespace)
    await api.create(api.prs, api.pipelinerun("a"))
    await api.create(api.path("pipelineruns", other), api.pipelinerun("b", other))
    everywhere = (await api.client.get(api.all_namespaces("pipelineruns"))).json()
    ours = [
        (i["metadata"]["namespace"], i["metadata"]["name"])
        for i in everywhere["items"]
        if i["metadata"]["namespace"] in (api.namespace, other)
    ]
    assert ours == [(other, "b"), (api.namespace, "a")]
    assert everywhere["kind"] == "PipelineRunList"
    only_other = (await api.client.get(api.path("pipelineruns", other))).json()
    assert [i["metadata"]["name"] for i in only_other["items"]] == ["b"]


NAME_PART = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
LABEL_VALUE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


@pytest.mark.parametrize(
    ("labels", "messages"),
    [
        ({"key": "x" * 64}, [f'Invalid value: "{"x" * 64}": must be no more than 63 bytes']),
        ({"key": "ends-with-dash-"}, [f'Invalid value: "ends-with-dash-": {LABEL_VALUE}']),
        ({"bad key": "v"}, [f'Invalid value: "bad key": {NAME_PART}']),
        (
            {"Example.COM/name": "v"},
            [f'Invalid value: "Example.COM/name": prefix part {SUBDOMAIN}'],
        ),
        (
            {"example.com/": "v"},
            [
                'Invalid value: "example.com/": name part must be non-empty',
                f'Invalid value: "example.com/": {NAME_PART}',
            ],
        ),
        ({"/x": "v"}, ['Invalid value: "/x": prefix part must be non-empty']),
    ],
    ids=["long-value", "bad-value", "space", "upper-prefix", "empty-name", "empty-prefix"],
)
async def test_invalid_labels_are_422(
    api: Api, labels: dict[str, str], messages: list[str]
) -> None:
    body = api.pipelinerun("pr")
    body["metadata"]["labels"] = labels
    response = await api.client.post(api.prs, json=body)
    assert response.status_code == 422
    causes = response.json()["details"]["causes"]
    assert [c["field"] for c in causes] == ["metadata.labels"] * len(messages)
    assert [c["message"] for c in causes] == messages


async def test_valid_qualified_labels_are_accepted(api: Api) -> None:
    body = api.pipelinerun("pr")
    body["metadata"]["labels"] = {"kubernaut.ai/workflow-execution": "a" * 63, "empty": ""}
    response = await api.client.post(api.prs, json=body)
    assert response.status_code == 201, response.text


async def test_owner_reference_without_uid_is_422(api: Api) -> None:
    body = api.pipelinerun("pr")
    body["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "X", "name": "x"}]
    response = await api.client.post(api.prs, json=body)
    assert response.status_code == 422
    # the server names the field without the index of the reference
    assert response.json()["details"]["causes"] == [
        {
            "reason": "FieldValueInvalid",
            "message": 'Invalid value: "": must not be empty',
            "field": "metadata.ownerReferences.uid",
        }
    ]


@pytest.mark.parametrize(
    ("metadata", "field", "message"),
    [
        (
            {"finalizers": ["example.com/ok", "not a valid finalizer"]},
            "metadata.finalizers",
            f'Invalid value: "not a valid finalizer": {NAME_PART}',
        ),
        (
            {"annotations": {"bad key!": "v", "Upper.Case/Is-Fine": "v"}},
            "metadata.annotations",
            f'Invalid value: "bad key!": {NAME_PART}',
        ),
        (
            {"annotations": {"big": "x" * (256 * 1024 + 1)}},
            "metadata.annotations",
            "Too long: may not be more than 262144 bytes",
        ),
    ],
    ids=["finalizer", "annotation-key", "annotations-size"],
)
async def test_invalid_finalizers_and_annotations_are_422(
    api: Api, metadata: dict[str, Any], field: str, message: str
) -> None:
    body = api.pipelinerun("pr")
    body["metadata"].update(metadata)
    response = await api.client.post(api.prs, json=body)
    assert response.status_code == 422
    causes = response.json()["details"]["causes"]
    assert [(c["field"], c["message"]) for c in causes] == [(field, message)]


async def test_finalizer_without_a_domain_is_admitted_with_a_warning(api: Api) -> None:
    body = api.pipelinerun("pr")
    body["metadata"]["finalizers"] = ["nodomain", "kubernetes"]
    response = await api.client.post(api.prs, json=body)
    assert response.status_code == 201, response.text
    assert response.headers.get_list("Warning") == [
        '299 - "metadata.finalizers: \\"nodomain\\": prefer a domain-qualified finalizer name to '
        'avoid accidental conflicts with other finalizer writers"'
    ]
