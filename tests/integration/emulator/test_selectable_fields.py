"""The WorkflowExecution CRD's selectableFields, on the emulator and the real API server alike:
`fieldSelector=spec.remediationRequestRef.name=<rr>` on list and watch (what
`kubectl get wfe --field-selector` sends), and a field the CRD does not make selectable refused
with the server's 400."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from kubernaut_wfe_tools.testing.catalog_fixtures import catalog_wfe

from .fidelity import Api  # noqa: TID252

BY_REQUEST = "spec.remediationRequestRef.name"


def _wfe(api: Api, name: str, request: str) -> dict[str, Any]:
    """A January-shape WFE, or a catalog snapshot for names starting with `cat`."""
    body = catalog_wfe(name, api.namespace) if name.startswith("cat") else api.wfe(name)
    body["spec"]["remediationRequestRef"] = {"name": request}
    return body


async def _seed(api: Api) -> None:
    for name, request in (("a", "rr-1"), ("b", "rr-2"), ("cat-c", "rr-1")):
        await api.create(api.wfes, _wfe(api, name, request))


async def _names(api: Api, path: str, selector: str) -> list[str]:
    response = await api.client.get(path, params={"fieldSelector": selector})
    assert response.status_code == 200, response.text
    return [item["metadata"]["name"] for item in response.json()["items"]]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        (f"{BY_REQUEST}=rr-1", ["a", "cat-c"]),
        (f"{BY_REQUEST}==rr-2", ["b"]),
        (f"{BY_REQUEST}!=rr-1", ["b"]),
        (f"{BY_REQUEST}=rr-9", []),
        (f"{BY_REQUEST}=rr-1,metadata.name=cat-c", ["cat-c"]),
    ],
    ids=["match", "double-equals", "not-equal", "no-match", "with-name"],
)
async def test_list_by_remediation_request(api: Api, selector: str, expected: list[str]) -> None:
    await _seed(api)
    assert await _names(api, api.wfes, selector) == expected


async def test_cluster_wide_list_by_remediation_request(api: Api) -> None:
    await _seed(api)
    selector = f"metadata.namespace={api.namespace},{BY_REQUEST}=rr-1"
    assert await _names(api, api.all_namespaces("workflowexecutions"), selector) == ["a", "cat-c"]


@contextlib.asynccontextmanager
async def _watch(api: Api, selector: str) -> AsyncIterator[AsyncIterator[str]]:
    params = {"watch": "true", "fieldSelector": selector}
    async with api.client.stream("GET", api.wfes, params=params) as response:
        assert response.status_code == 200
        yield response.aiter_lines()


async def _next_name(lines: AsyncIterator[str]) -> tuple[str, str]:
    event = json.loads(await asyncio.wait_for(anext(lines), 10))
    return event["type"], event["object"]["metadata"]["name"]


async def test_watch_by_remediation_request_sees_only_its_executions(api: Api) -> None:
    await _seed(api)
    async with _watch(api, f"{BY_REQUEST}=rr-2") as lines:
        assert await _next_name(lines) == ("ADDED", "b")
        await api.create(api.wfes, _wfe(api, "cat-d", "rr-1"))
        await api.create(api.wfes, _wfe(api, "cat-e", "rr-2"))
        assert await _next_name(lines) == ("ADDED", "cat-e")


UNSELECTABLE = {
    "kind": "Status",
    "apiVersion": "v1",
    "metadata": {},
    "status": "Failure",
    "message": "field label not supported: spec.targetResource",
    "reason": "BadRequest",
    "code": 400,
}


@pytest.mark.parametrize("watch", [False, True], ids=["list", "watch"])
async def test_a_field_that_is_not_selectable_is_refused(api: Api, *, watch: bool) -> None:
    params = {"fieldSelector": "spec.targetResource=default/deployment/nginx"}
    if watch:
        params |= {"watch": "true", "timeoutSeconds": "1"}
    response = await api.client.get(api.wfes, params=params)
    assert (response.status_code, response.json()) == (400, UNSELECTABLE)


async def test_a_table_has_the_printer_columns_in_order(api: Api) -> None:
    await _seed(api)
    response = await api.client.get(
        api.wfes,
        params={"fieldSelector": f"{BY_REQUEST}=rr-1"},
        headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    columns = [(c["name"], c["priority"]) for c in body["columnDefinitions"]]
    workflow = body["columnDefinitions"][2]["description"]
    assert workflow == (
        "Custom resource definition column (in JSONPath format): .spec.workflowRef.workflowName"
    )
    assert columns == [
        ("Name", 0),
        ("Phase", 0),
        ("Workflow", 0),
        ("WorkflowID", 1),
        ("Target", 0),
        ("Duration", 0),
        ("Reason", 1),
        ("Age", 0),
    ]
    rows = {row["cells"][0]: row["cells"][1:6] for row in body["rows"]}
    assert rows == {
        "a": [None, None, "hello-world", "default/deployment/nginx", None],
        "cat-c": [
            None,
            "hello-world",
            "3f8c2d4e-9a1b-4c6d-8e2f-5a7b9c1d3e5f",
            f"{api.namespace}/deployment/nginx",
            None,
        ],
    }


async def test_an_empty_value_matches_none_of_them(api: Api) -> None:
    await _seed(api)
    assert await _names(api, api.wfes, f"{BY_REQUEST}=") == []
