"""The DataStorage client maps HTTP answers and transport failures to typed results and errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from kubernaut_wfe.constants import AuditEventType
from kubernaut_wfe.core.models import WorkflowExecution
from kubernaut_wfe.datastorage.client import (
    AuditAmbiguous,
    AuditRejected,
    AuditUnavailable,
    DataStorageClient,
)
from kubernaut_wfe.datastorage.events import build_audit_event
from kubernaut_wfe.datastorage.models import (
    AuditEventRequest,
)

EVENT_ID = "6f1c2f0e-8b1d-4d59-9a43-1f3e6c3b2a10"
PROBLEM = {
    "type": "https://kubernaut.io/problems/validation-error",
    "title": "Validation Error",
    "status": 400,
    "detail": "event_data.phase: value must be one of Pending, Running, Completed, Failed",
}

Handler = Callable[[httpx.Request], httpx.Response]


def an_event() -> AuditEventRequest:
    wfe = WorkflowExecution.model_validate(
        {"metadata": {"name": "wfe-1", "namespace": "ns"}, "spec": {"targetResource": "ns/d/x"}}
    )
    return build_audit_event(
        AuditEventType.WORKFLOW_FAILED, wfe, at=datetime(2026, 1, 20, tzinfo=UTC)
    )


def client_for(handler: Handler, **options: Any) -> DataStorageClient:
    return DataStorageClient(
        "http://datastorage:8080/", transport=httpx.MockTransport(handler), **options
    )


def answer(status: int, body: Any = None, **headers: str) -> Handler:
    media_type = "application/problem+json" if status >= 400 else "application/json"

    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(status, text=body, headers=headers)
        return httpx.Response(status, json=body, headers={"Content-Type": media_type, **headers})

    return handler


def fail_with(error: type[httpx.TransportError]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error("simulated", request=request)

    return handler


async def test_batch_posts_a_json_array_without_nulls() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"event_ids": [EVENT_ID], "message": "1 event created"})

    async with client_for(handler) as client:
        result = await client.create_audit_events_batch([an_event()])
    assert [str(event_id) for event_id in result.event_ids or []] == [EVENT_ID]
    assert seen[0].method == "POST"
    assert seen[0].url.path == "/api/v1/audit/events/batch"
    body = json.loads(seen[0].content)
    assert isinstance(body, list)
    assert body[0]["event_type"] == AuditEventType.WORKFLOW_FAILED.value
    assert "null" not in seen[0].content.decode()


async def test_400_problem_is_a_rejection_with_the_server_detail() -> None:
    async with client_for(answer(400, PROBLEM)) as client:
        with pytest.raises(AuditRejected) as caught:
            await client.create_audit_events_batch([an_event()])
    assert caught.value.problem.status == 400
    assert caught.value.detail == PROBLEM["detail"]


async def test_400_without_a_problem_body_is_still_a_typed_rejection() -> None:
    async with client_for(answer(400, "bad request from a proxy")) as client:
        with pytest.raises(AuditRejected) as caught:
            await client.create_audit_events_batch([an_event()])
    assert caught.value.problem.status == 400
    assert caught.value.detail == "bad request from a proxy"


@pytest.mark.parametrize("status", [500, 503, 429, 401, 403, 404, 408])
async def test_statuses_that_do_not_judge_the_event_are_unavailable(status: int) -> None:
    async with client_for(answer(status, {**PROBLEM, "status": status})) as client:
        with pytest.raises(AuditUnavailable) as caught:
            await client.create_audit_events_batch([an_event()])
    assert caught.value.status_code == status


@pytest.mark.parametrize(("header", "seconds"), [("7", 7.0), ("-3", 0.0), ("soon", None)])
async def test_retry_after_is_reported(header: str, seconds: float | None) -> None:
    async with client_for(answer(429, PROBLEM, **{"Retry-After": header})) as client:
        with pytest.raises(AuditUnavailable) as caught:
            await client.create_audit_events_batch([an_event()])
    assert caught.value.retry_after == seconds


async def test_retry_after_as_http_date_is_relative_to_the_date_header() -> None:
    headers = {
        "Retry-After": "Tue, 20 Jan 2026 10:00:30 GMT",
        "Date": "Tue, 20 Jan 2026 10:00:00 GMT",
    }
    async with client_for(answer(503, PROBLEM, **headers)) as client:
        with pytest.raises(AuditUnavailable) as caught:
            await client.create_audit_events_batch([an_event()])
    assert caught.value.retry_after == 30.0


@pytest.mark.parametrize("status", [502, 504])
async def test_gateway_errors_are_ambiguous(status: int) -> None:
    async with client_for(answer(status, "upstream timed out")) as client:
        with pytest.raises(AuditAmbiguous):
            await client.create_audit_events_batch([an_event()])


@pytest.mark.parametrize("error", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout])
async def test_failures_before_sending_are_unavailable(error: type[httpx.TransportError]) -> None:
    async with client_for(fail_with(error)) as client:
        with pytest.raises(AuditUnavailable):
            await client.create_audit_events_batch([an_event()])


@pytest.mark.parametrize(
    "error",
    [httpx.ReadTimeout, httpx.ReadError, httpx.WriteTimeout, httpx.RemoteProtocolError],
)
async def test_failures_after_sending_are_ambiguous(error: type[httpx.TransportError]) -> None:
    async with client_for(fail_with(error)) as client:
        with pytest.raises(AuditAmbiguous):
            await client.create_audit_events_batch([an_event()])


async def test_success_with_an_unreadable_body_is_ambiguous() -> None:
    async with client_for(answer(201, "<html>created</html>")) as client:
        with pytest.raises(AuditAmbiguous):
            await client.create_audit_events_batch([an_event()])


async def test_query_sends_only_the_given_filters_and_parses_the_page() -> None:
    seen: list[httpx.Request] = []
    stored = an_event().model_dump(mode="json", exclude_none=True) | {"event_id": EVENT_ID}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        page = {"limit": 10, "offset": 20, "total": 21, "has_more": False}
        return httpx.Response(200, json={"data": [stored], "pagination": page})

    async with client_for(handler) as client:
        page = await client.query_audit_events(
            correlation_id="rr-1",
            event_type=AuditEventType.WORKFLOW_FAILED,
            since=datetime(2026, 1, 19, tzinfo=UTC),
            limit=10,
            offset=20,
        )
    assert dict(seen[0].url.params) == {
        "correlation_id": "rr-1",
        "event_type": AuditEventType.WORKFLOW_FAILED.value,
        "since": "2026-01-19T00:00:00+00:00",
        "limit": "10",
        "offset": "20",
    }
    assert page.data is not None
    assert str(page.data[0].event_id) == EVENT_ID
    assert page.pagination is not None
    assert page.pagination.has_more is False


async def test_query_400_is_a_rejection() -> None:
    async with client_for(answer(400, {**PROBLEM, "detail": "invalid since"})) as client:
        with pytest.raises(AuditRejected, match="invalid since"):
            await client.query_audit_events(since="yesterday")


async def test_every_request_carries_the_current_token() -> None:
    tokens = iter(["first", "second", None])
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("Authorization"))
        return httpx.Response(200, json={"data": []})

    async with client_for(handler, token_provider=lambda: next(tokens)) as client:
        for _ in range(3):
            await client.query_audit_events()
    assert seen == ["Bearer first", "Bearer second", None]


@pytest.mark.parametrize(
    "body",
    [
        {"message": "created"},
        {"event_ids": [], "message": "0 events created"},
        {"event_ids": [EVENT_ID, EVENT_ID], "message": "2 events created"},
    ],
    ids=["no-ids", "fewer-ids", "more-ids"],
)
async def test_success_that_does_not_account_for_each_event_is_ambiguous(
    body: dict[str, Any],
) -> None:
    async with client_for(answer(201, body)) as client:
        with pytest.raises(AuditAmbiguous, match=r"event_ids|event ids"):
            await client.create_audit_events_batch([an_event()])


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_redirects_are_not_followed_and_say_where_they_point(status: int) -> None:
    handler = answer(status, "moved", Location="http://elsewhere:8080/api/v1/audit/events/batch")
    async with client_for(handler) as client:
        with pytest.raises(AuditUnavailable, match="redirect to http://elsewhere:8080/"):
            await client.create_audit_events_batch([an_event()])


class _EndlessBody(httpx.AsyncByteStream):
    """A body that sends one byte and then nothing more, never ending."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"{"
        await asyncio.Event().wait()


async def test_an_answer_that_never_completes_is_ambiguous_after_the_timeout() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, stream=_EndlessBody())

    async with client_for(handler, timeout=0.05) as client:
        with pytest.raises(AuditAmbiguous, match=r"no complete answer within 0\.05 s"):
            await client.create_audit_events_batch([an_event()])


@pytest.mark.parametrize("body", [{}, {"events": []}, {"pagination": {"total": 0}}])
async def test_query_answer_without_data_is_ambiguous_not_empty(body: dict[str, Any]) -> None:
    async with client_for(answer(200, body)) as client:
        with pytest.raises(AuditAmbiguous, match="without `data`"):
            await client.query_audit_events(correlation_id="rr-1")


async def test_query_answer_with_null_data_is_an_empty_page() -> None:
    async with client_for(answer(200, {"data": None})) as client:
        page = await client.query_audit_events(correlation_id="rr-1")
    assert page.data is None
