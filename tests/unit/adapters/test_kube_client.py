"""KubeClient against a real local HTTP server (aiohttp on 127.0.0.1) that answers from a
script: requests sent, answers mapped, retries bounded, dropped connections and timeouts."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from kubernaut_wfe import __version__
from kubernaut_wfe.adapters.kube import (
    EVENTS,
    PIPELINE_RUNS,
    TASK_RUNS,
    WORKFLOW_EXECUTIONS,
    AlreadyExists,
    ApiError,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    KubeClient,
    KubeConnection,
    RetryPolicy,
    StatusCause,
    Transient,
    Unauthorized,
)
from kubernaut_wfe.adapters.kube_resources import CUSTOM_RESOURCE_DEFINITIONS
from kubernaut_wfe.adapters.kubeconfig import KubeConfig


@dataclass(frozen=True)
class Reply:
    """An HTTP answer to script."""

    code: int
    json: Any = None
    text: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


DROP = "drop the connection"
HANG = "never answer"
Answer = Reply | str


@dataclass(frozen=True)
class Seen:
    """A request as the server received it."""

    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    content: bytes


def status(
    code: int,
    reason: str,
    message: str = "",
    *,
    headers: dict[str, str] | None = None,
    **details: Any,
) -> Reply:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "code": code,
        "reason": reason,
        "message": message,
        "details": details,
    }
    return Reply(code, json=body, headers=headers or {})


class ScriptedApi:
    """Answers requests from a script, then 200 `{}`; remembers every request."""

    def __init__(self) -> None:
        self.script: list[Answer] = []
        self.requests: list[Seen] = []
        self.slept: list[float] = []
        self.released = asyncio.Event()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(
            Seen(
                request.method,
                request.path,
                dict(request.query),
                dict(request.headers),
                await request.read(),
            )
        )
        answer = self.script.pop(0) if self.script else Reply(200, json={})
        if answer == HANG:
            await self.released.wait()
            return web.Response(status=200, text="{}")
        if answer == DROP:
            assert request.transport is not None
            request.transport.abort()
            return web.Response(status=200, text="{}")
        assert isinstance(answer, Reply)
        if answer.json is not None:
            return web.json_response(answer.json, status=answer.code, headers=answer.headers)
        return web.Response(status=answer.code, text=answer.text, headers=answer.headers)

    async def sleep(self, delay: float) -> None:
        self.slept.append(delay)

    def body(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)


POLICY = RetryPolicy(initial_delay=0.5, max_delay=8.0, max_attempts=4)


class Ceiling(random.Random):
    """Jitter at its top: every delay is its whole base, so the delays are exact."""

    def uniform(self, a: float, b: float) -> float:
        return b


REQUEST_DEADLINE = aiohttp.ClientTimeout(total=0.5)
"""Short, so that the HANG answers end in a client timeout (no timing is asserted)."""


@pytest.fixture
async def api() -> AsyncIterator[ScriptedApi]:
    scripted = ScriptedApi()
    yield scripted
    scripted.released.set()


@pytest.fixture
async def server(api: ScriptedApi) -> AsyncIterator[TestServer]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", api.handle)
    test_server = TestServer(app, host="127.0.0.1", port=0)
    await test_server.start_server()
    yield test_server
    api.released.set()
    await test_server.close()


@pytest.fixture
async def client(api: ScriptedApi, server: TestServer) -> AsyncIterator[KubeClient]:
    url = str(server.make_url("")).rstrip("/")
    config = KubeConfig(server=url, namespace="home", token="s3cret")
    async with KubeClient(
        KubeConnection.open(config),
        retry=POLICY,
        timeout=REQUEST_DEADLINE,
        sleep=api.sleep,
        rng=Ceiling(),
        now=lambda: datetime(2026, 11, 25, 22, 0, 0, tzinfo=UTC),
        reporting_instance="pod-0",
    ) as kube:
        yield kube


async def test_get_sends_auth_agent_and_json_headers(api: ScriptedApi, client: KubeClient) -> None:
    api.script = [Reply(200, json={"metadata": {"name": "wfe-a"}})]
    assert await client.get(PIPELINE_RUNS, "wfe-a", "runs") == {"metadata": {"name": "wfe-a"}}
    request = api.requests[0]
    assert request.method == "GET"
    assert request.path == "/apis/tekton.dev/v1/namespaces/runs/pipelineruns/wfe-a"
    assert request.headers["Authorization"] == "Bearer s3cret"
    assert request.headers["User-Agent"] == f"kubernaut-wfe/{__version__}"
    assert request.headers["Accept"] == "application/json"


async def test_get_of_a_missing_object_is_none(api: ScriptedApi, client: KubeClient) -> None:
    api.script = [status(404, "NotFound")]
    assert await client.get(WORKFLOW_EXECUTIONS, "ghost") is None
    assert api.requests[0].path.startswith("/apis/kubernaut.ai/v1alpha1/namespaces/home/")


async def test_cluster_scoped_get(api: ScriptedApi, client: KubeClient) -> None:
    await client.get(CUSTOM_RESOURCE_DEFINITIONS, "workflowexecutions.kubernaut.ai")
    assert api.requests[0].path == (
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/workflowexecutions.kubernaut.ai"
    )


async def test_list_follows_continue_and_fills_kind(api: ScriptedApi, client: KubeClient) -> None:
    api.script = [
        Reply(200, json={"items": [{"metadata": {"name": "a"}}], "metadata": {"continue": "tok"}}),
        Reply(200, json={"items": [{"metadata": {"name": "b"}}], "metadata": {}}),
    ]
    items = await client.list(
        TASK_RUNS,
        "runs",
        label_selector="tekton.dev/pipelineRun=wfe-a",
        field_selector="x=y",
        limit=1,
    )
    assert [item["metadata"]["name"] for item in items] == ["a", "b"]
    assert all(
        item["kind"] == "TaskRun" and item["apiVersion"] == "tekton.dev/v1" for item in items
    )
    first, second = (request.params for request in api.requests)
    assert first == {
        "labelSelector": "tekton.dev/pipelineRun=wfe-a",
        "fieldSelector": "x=y",
        "limit": "1",
    }
    assert second == {**first, "continue": "tok"}


async def test_list_without_namespace_spans_all_namespaces(
    api: ScriptedApi, client: KubeClient
) -> None:
    assert await client.list(WORKFLOW_EXECUTIONS) == []
    assert api.requests[0].path == "/apis/kubernaut.ai/v1alpha1/workflowexecutions"


async def test_create_uses_the_body_namespace(api: ScriptedApi, client: KubeClient) -> None:
    body = {
        "apiVersion": "tekton.dev/v1",
        "kind": "PipelineRun",
        "metadata": {"name": "wfe-a", "namespace": "runs"},
    }
    await client.create(PIPELINE_RUNS, body)
    request = api.requests[0]
    assert (request.method, request.path) == (
        "POST",
        "/apis/tekton.dev/v1/namespaces/runs/pipelineruns",
    )
    assert request.headers["Content-Type"] == "application/json"
    assert api.body() == body


async def test_create_conflict_is_already_exists(api: ScriptedApi, client: KubeClient) -> None:
    api.script = [status(409, "AlreadyExists", 'pipelineruns.tekton.dev "wfe-a" already exists')]
    with pytest.raises(AlreadyExists) as caught:
        await client.create(PIPELINE_RUNS, {"metadata": {"name": "wfe-a"}}, "runs")
    assert caught.value.reason == "AlreadyExists"
    assert len(api.requests) == 1  # 409 is never retried here


async def test_create_rejected_with_causes(api: ScriptedApi, client: KubeClient) -> None:
    api.script = [
        status(
            422,
            "Invalid",
            "bad run",
            causes=[
                {"reason": "FieldValueInvalid", "message": "no", "field": "spec.timeouts.pipeline"}
            ],
        )
    ]
    with pytest.raises(Invalid) as caught:
        await client.create(PIPELINE_RUNS, {"metadata": {"name": "wfe-a"}}, "runs")
    assert caught.value.causes == (
        StatusCause("FieldValueInvalid", "no", "spec.timeouts.pipeline"),
    )


async def test_forbidden_keeps_the_quota_message(api: ScriptedApi, client: KubeClient) -> None:
    api.script = [status(403, "Forbidden", "exceeded quota: q, requested: pods=1")]
    with pytest.raises(Forbidden, match="exceeded quota"):
        await client.create(PIPELINE_RUNS, {"metadata": {"name": "wfe-a"}}, "runs")


@pytest.mark.parametrize(
    ("patch", "patch_type", "content_type"),
    [
        ({"status": {"phase": "Running"}}, "merge", "application/merge-patch+json"),
        (
            [{"op": "test", "path": "/status/phase", "value": "Pending"}],
            "json",
            "application/json-patch+json",
        ),
    ],
)
async def test_patch_content_types(
    api: ScriptedApi, client: KubeClient, patch: Any, patch_type: Any, content_type: str
) -> None:
    await client.patch(
        WORKFLOW_EXECUTIONS, "w", patch, "ns", subresource="status", patch_type=patch_type
    )
    request = api.requests[0]
    assert request.method == "PATCH"
    assert request.path == "/apis/kubernaut.ai/v1alpha1/namespaces/ns/workflowexecutions/w/status"
    assert request.headers["Content-Type"] == content_type
    assert api.body() == patch


async def test_replace_puts_to_the_named_object(api: ScriptedApi, client: KubeClient) -> None:
    body = {"metadata": {"name": "w", "namespace": "ns", "resourceVersion": "7"}}
    await client.replace(WORKFLOW_EXECUTIONS, body)
    assert api.requests[0].method == "PUT"
    assert api.requests[0].path.endswith("/namespaces/ns/workflowexecutions/w")
    with pytest.raises(ValueError, match=r"metadata\.name"):
        await client.replace(WORKFLOW_EXECUTIONS, {"metadata": {}})


async def test_delete_sends_preconditions(api: ScriptedApi, client: KubeClient) -> None:
    await client.delete(PIPELINE_RUNS, "wfe-a", "runs", uid="u-1", resource_version="9")
    request = api.requests[0]
    assert request.method == "DELETE"
    assert api.body() == {
        "apiVersion": "v1",
        "kind": "DeleteOptions",
        "propagationPolicy": "Background",
        "preconditions": {"uid": "u-1", "resourceVersion": "9"},
    }


async def test_delete_of_a_gone_object_is_none_and_mismatch_conflicts(
    api: ScriptedApi, client: KubeClient
) -> None:
    api.script = [status(404, "NotFound"), status(409, "Conflict", "Precondition failed: UID")]
    assert await client.delete(PIPELINE_RUNS, "wfe-a", "runs") is None
    assert "preconditions" not in api.body()
    with pytest.raises(Conflict) as caught:
        await client.delete(PIPELINE_RUNS, "wfe-a", "runs", uid="other")
    assert not isinstance(caught.value, AlreadyExists)


async def test_5xx_is_retried_with_backoff_then_succeeds(
    api: ScriptedApi, client: KubeClient
) -> None:
    api.script = [
        status(500, "InternalError"),
        Reply(503),
        Reply(200, json={"ok": 1}),
    ]
    assert await client.get(PIPELINE_RUNS, "wfe-a", "runs") == {"ok": 1}
    assert api.slept == [0.5, 1.0]


async def test_429_honours_retry_after_within_the_cap(api: ScriptedApi, client: KubeClient) -> None:
    api.script = [
        status(429, "TooManyRequests", headers={"Retry-After": "2"}),
        Reply(429, headers={"Retry-After": "3"}),
        Reply(429, headers={"Retry-After": "3600"}),
    ]
    assert await client.get(PIPELINE_RUNS, "wfe-a", "runs") == {}
    assert api.slept == [2.0, 3.0, 8.0]  # max(backoff, Retry-After), capped at max_delay


async def test_connection_errors_and_timeouts_are_retried(
    api: ScriptedApi, client: KubeClient
) -> None:
    api.script = [DROP, HANG]
    assert await client.get(PIPELINE_RUNS, "wfe-a", "runs") == {}
    assert len(api.requests) == 3


async def test_attempts_are_bounded(api: ScriptedApi, client: KubeClient) -> None:
    api.script = [DROP] * 10
    with pytest.raises(Transient) as caught:
        await client.get(PIPELINE_RUNS, "wfe-a", "runs")
    # aiohttp re-sends an idempotent request once, at once, when the server dropped the
    # connection (a stale pooled connection); the retry policy bounds the attempts around that.
    assert len(api.requests) == 2 * POLICY.max_attempts
    assert len(api.slept) == POLICY.max_attempts - 1
    assert caught.value.reason == "ConnectionError"
    assert isinstance(caught.value.__cause__, aiohttp.ClientError)


async def test_errors_never_show_the_token(api: ScriptedApi, client: KubeClient) -> None:
    api.script = [*[DROP] * 8, status(401, "Unauthorized", "nope")]
    for _ in range(2):
        with pytest.raises(ApiError) as caught:
            await client.get(PIPELINE_RUNS, "wfe-a", "runs")
        assert "s3cret" not in str(caught.value)
        assert "s3cret" not in repr(caught.value)


async def test_a_success_that_is_not_json_is_an_error(api: ScriptedApi, client: KubeClient) -> None:
    api.script = [Reply(200, text="<html>")]
    with pytest.raises(ApiError, match="not a JSON object"):
        await client.get(PIPELINE_RUNS, "wfe-a", "runs")


WFE = {
    "apiVersion": "kubernaut.ai/v1alpha1",
    "kind": "WorkflowExecution",
    "metadata": {"name": "w", "namespace": "team-a", "uid": "u-1"},
}


async def test_create_event_posts_to_the_objects_namespace(
    api: ScriptedApi, client: KubeClient
) -> None:
    await client.create_event(WFE, type="Normal", reason="PipelineRunCreated", message="x" * 5000)
    request = api.requests[0]
    assert request.path == "/api/v1/namespaces/team-a/events"
    event = api.body()
    assert event["metadata"]["name"].startswith("w.")
    assert len(event["message"]) == 1024
    assert event["involvedObject"]["uid"] == "u-1"
    assert event["source"] == {"component": "workflowexecution-controller"}
    assert event["reportingInstance"] == "pod-0"
    assert event["firstTimestamp"] == "2026-11-25T22:00:00Z"
    assert EVENTS.kind == event["kind"]


async def test_a_retried_event_that_had_landed_is_not_an_error(
    api: ScriptedApi, client: KubeClient
) -> None:
    api.script = [HANG, status(409, "AlreadyExists")]
    assert await client.create_event(WFE, type="Normal", reason="R", message="m") is None
    assert len(api.requests) == 2
    assert api.body(0)["metadata"]["name"] == api.body(1)["metadata"]["name"]


async def test_an_expired_continue_token_falls_back_to_one_unpaged_list(
    api: ScriptedApi, client: KubeClient
) -> None:
    def item(name: str) -> dict[str, Any]:
        return {"metadata": {"name": name, "uid": f"uid-{name}"}}

    api.script = [
        Reply(200, json={"items": [item("a")], "metadata": {"continue": "old"}}),
        status(410, "Expired", "The provided continue parameter is too old"),
        Reply(200, json={"items": [item("a"), item("b")], "metadata": {}}),
    ]
    items = await client.list(TASK_RUNS, "runs", label_selector="x=y", limit=1)
    assert [entry["metadata"]["name"] for entry in items] == ["a", "b"]
    assert dict(api.requests[2].params) == {"labelSelector": "x=y"}


async def test_gone_without_a_continue_token_is_raised(
    api: ScriptedApi, client: KubeClient
) -> None:
    api.script = [status(410, "Expired")]
    with pytest.raises(Gone):
        await client.list(TASK_RUNS, "runs")


async def test_list_of_a_cluster_scoped_type_refuses_a_namespace(client: KubeClient) -> None:
    with pytest.raises(ValueError, match="cluster-scoped"):
        await client.list(CUSTOM_RESOURCE_DEFINITIONS, "ns")


async def test_a_closed_client_sends_nothing(api: ScriptedApi, server: TestServer) -> None:
    config = KubeConfig(server=str(server.make_url("")).rstrip("/"), token="t")
    kube = KubeClient(KubeConnection.open(config), retry=POLICY, sleep=api.sleep, rng=Ceiling())
    await kube.get(PIPELINE_RUNS, "wfe-a", "runs")
    await kube.close()
    with pytest.raises(RuntimeError, match="closed"):
        await kube.get(PIPELINE_RUNS, "wfe-a", "runs")
    assert len(api.requests) == 1


def token_client(server: TestServer, api: ScriptedApi, token_file: Path) -> KubeClient:
    """A client whose token comes from `token_file` (read now, as at start-up)."""
    url = str(server.make_url("")).rstrip("/")
    connection = KubeConnection.open(KubeConfig(server=url, token_file=str(token_file)))
    return KubeClient(connection, retry=POLICY, sleep=api.sleep)


async def test_a_401_reads_the_token_file_again_and_sends_once_more(
    api: ScriptedApi, server: TestServer, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("old", encoding="utf-8")
    async with token_client(server, api, token_file) as kube:
        token_file.write_text("new\n", encoding="utf-8")  # rotated meanwhile
        api.script = [status(401, "Unauthorized", "expired")]
        await kube.get(PIPELINE_RUNS, "wfe-a", "runs")
        api.script = [status(401, "Unauthorized", "revoked")]  # the file has nothing newer
        with pytest.raises(Unauthorized):
            await kube.get(PIPELINE_RUNS, "wfe-a", "runs")
    sent = [request.headers["Authorization"] for request in api.requests]
    assert sent == ["Bearer old", "Bearer new", "Bearer new"]
    assert api.slept == []


async def test_an_unreadable_token_file_fails_the_request_naming_it(
    api: ScriptedApi, server: TestServer, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("old", encoding="utf-8")
    async with token_client(server, api, token_file) as kube:
        token_file.unlink()
        api.script = [status(401, "Unauthorized", "expired")] * POLICY.max_attempts
        with pytest.raises(Transient) as caught:
            await kube.get(PIPELINE_RUNS, "wfe-a", "runs")
    assert caught.value.reason == "CredentialsUnavailable"
    assert f"bearer token file {token_file}: cannot read" in str(caught.value)
    # Retried like any transient failure, and never sent without the token.
    assert len(api.requests) == POLICY.max_attempts
    assert {request.headers.get("Authorization") for request in api.requests} == {"Bearer old"}


WATCH_EVENTS = [
    {"type": "ADDED", "object": {"metadata": {"name": "w", "resourceVersion": "6"}}},
    {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "7"}}},
]


async def test_a_watch_yields_its_events_until_the_server_ends_it(
    api: ScriptedApi, client: KubeClient
) -> None:
    api.script = [Reply(200, text="".join(json.dumps(event) + "\n" for event in WATCH_EVENTS))]
    async with client.watch(
        WORKFLOW_EXECUTIONS,
        "team-a",
        field_selector="metadata.name=w",
        timeout_seconds=5,
        read_timeout=5,
    ) as events:
        received = [event async for event in events]
    assert received == WATCH_EVENTS
    request = api.requests[0]
    assert request.path == "/apis/kubernaut.ai/v1alpha1/namespaces/team-a/workflowexecutions"
    assert request.params == {
        "watch": "true",
        "allowWatchBookmarks": "true",
        "timeoutSeconds": "5",
        "fieldSelector": "metadata.name=w",
    }
    assert request.headers["Authorization"] == "Bearer s3cret"


async def test_a_refused_watch_is_an_api_error_and_its_permission_is_recorded(
    api: ScriptedApi, client: KubeClient
) -> None:
    api.script = [status(403, "Forbidden", "cannot watch workflowexecutions")]
    with pytest.raises(Forbidden):
        async with client.watch(WORKFLOW_EXECUTIONS, timeout_seconds=5, read_timeout=5):
            pass
    assert len(api.requests) == 1  # never retried: its caller opens it again
    missing = await client.missing_permissions()
    assert [str(permission) for permission, _ in missing] == [
        "watch workflowexecutions.kubernaut.ai cluster-wide"
    ]


async def test_a_watch_not_answered_in_time_is_transient(
    api: ScriptedApi, client: KubeClient
) -> None:
    api.script = [HANG]
    with pytest.raises(Transient) as caught:
        async with client.watch(WORKFLOW_EXECUTIONS, timeout_seconds=5, read_timeout=0.2):
            pass
    assert caught.value.reason == "Timeout"


async def test_a_watch_event_that_is_not_json_is_an_error(
    api: ScriptedApi, client: KubeClient
) -> None:
    api.script = [Reply(200, text="<html>\n")]
    async with client.watch(WORKFLOW_EXECUTIONS, timeout_seconds=5, read_timeout=5) as events:
        with pytest.raises(ApiError, match="not a JSON object"):
            async for _ in events:
                pass
