"""The sandbox's API client against a scripted transport: create outcomes and the WFE watch."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from kubernaut_wfe_tools.sandbox.kubeapi import KubeApi, KubeApiError, WatchEvent

DISCOVERY = {
    "resources": [
        {"name": "workflowexecutions", "kind": "WorkflowExecution", "namespaced": True},
        {"name": "workflowexecutions/status", "kind": "WorkflowExecution", "namespaced": True},
    ]
}
CORE = {"resources": [{"name": "namespaces", "kind": "Namespace", "namespaced": False}]}


def wfe() -> dict[str, Any]:
    """A fresh body each time: `create` fills in the namespace."""
    return {
        "apiVersion": "kubernaut.ai/v1alpha1",
        "kind": "WorkflowExecution",
        "metadata": {"name": "a"},
    }


def status(code: int, message: str) -> httpx.Response:
    return httpx.Response(code, json={"kind": "Status", "code": code, "message": message})


def api(handler: Any) -> KubeApi:
    return KubeApi(httpx.AsyncClient(base_url="http://api", transport=httpx.MockTransport(handler)))


@pytest.mark.parametrize(
    ("answer", "outcome", "message"),
    [
        (httpx.Response(201, json={"metadata": {"name": "a", "uid": "u"}}), "created", ""),
        (status(409, 'workflowexecutions "a" already exists'), "exists", "workflowexecutions"),
        (status(422, "spec.targetResource: Invalid value"), "rejected", "HTTP 422: spec."),
        (httpx.Response(400, text="strict decoding error"), "rejected", "HTTP 400: strict"),
    ],
)
async def test_create_reports_the_servers_answer(
    answer: httpx.Response, outcome: str, message: str
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json=DISCOVERY)
        seen.append(request)
        return answer

    result = await api(handler).create(wfe(), default_namespace="team-a")

    assert result.outcome == outcome
    assert result.message.startswith(message)
    (post,) = seen
    assert post.url.path == "/apis/kubernaut.ai/v1alpha1/namespaces/team-a/workflowexecutions"
    assert post.url.params["fieldValidation"] == "Strict"


async def test_an_unserved_kind_is_rejected_without_a_request() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.method == "GET"
        return httpx.Response(200, json=CORE)

    result = await api(handler).create({"apiVersion": "v1", "kind": "Pod"}, "default")

    assert (result.outcome, result.message) == ("rejected", 'no resource of kind "Pod" in v1')


async def test_ensure_namespace_tolerates_an_existing_one_and_reports_other_errors() -> None:
    answers = iter([httpx.Response(201, json={}), status(409, "exists"), status(403, "nope")])
    client = api(lambda _: next(answers))

    assert await client.ensure_namespace("a") is True
    assert await client.ensure_namespace("a") is False
    with pytest.raises(KubeApiError, match="cannot create namespace a: nope"):
        await client.ensure_namespace("a")


def obj(name: str, version: str) -> dict[str, Any]:
    return {"metadata": {"namespace": "default", "name": name, "resourceVersion": version}}


async def test_watch_relists_then_follows_and_resumes_from_the_last_version() -> None:
    watch_versions: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if "watch" not in request.url.params:
            return httpx.Response(200, json={"metadata": {"resourceVersion": "5"},
                                             "items": [obj("a", "4")]})  # fmt: skip
        watch_versions.append(request.url.params["resourceVersion"])
        if len(watch_versions) == 1:
            lines = [
                {"type": "ADDED", "object": obj("b", "6")},
                {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "8"}}},
            ]
        else:
            lines = [{"type": "DELETED", "object": obj("a", "9")}]
        return httpx.Response(200, text="\n".join(json.dumps(line) for line in lines) + "\n")

    events: list[WatchEvent] = []
    async for event in api(handler).watch_wfes():
        events.append(event)
        if len(events) == 3:
            break

    assert [(e.type, [o["metadata"]["name"] for o in e.objects]) for e in events] == [
        ("RELISTED", ["a"]),
        ("ADDED", ["b"]),
        ("DELETED", ["a"]),
    ]
    assert watch_versions == ["5", "8"]


async def test_watch_relists_after_gone() -> None:
    lists = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal lists
        if "watch" in request.url.params:
            return status(410, "too old resource version")
        lists += 1
        return httpx.Response(200, json={"metadata": {"resourceVersion": str(lists)}, "items": []})

    events = []
    async for event in api(handler).watch_wfes():
        events.append(event.type)
        if len(events) == 2:
            break

    assert events == ["RELISTED", "RELISTED"]
