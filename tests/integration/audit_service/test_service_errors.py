"""A wrong method's Allow header, a failing database, draining: always a spec'd body, never a
traceback (health routes, unknown routes and methods are in `tests/corpus/audit_requests.yaml`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import httpx
import pytest
from aiohttp import web

from kubernaut_wfe.audit_service import create_app
from kubernaut_wfe.audit_service.app import STATE_KEY
from kubernaut_wfe.audit_service.records import AuditRecord
from kubernaut_wfe.audit_service.store import EventPage, EventQuery, StoreError

EventFactory = Callable[..., dict[str, Any]]
ProblemOf = Callable[..., dict[str, Any]]
ServeApp = Callable[[web.Application], AsyncIterator[str]]


async def test_wrong_method_is_a_405_problem_with_allow(
    client: httpx.AsyncClient, problem: ProblemOf
) -> None:
    response = await client.delete("/api/v1/audit/events")

    problem(response, 405)
    assert set(response.headers["allow"].split(", ")) == {"GET", "POST"}


class BrokenStore:
    """A database that is down."""

    async def open(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def insert(self, records: Sequence[AuditRecord]) -> None:
        raise StoreError("connection refused")

    async def query(self, query: EventQuery) -> EventPage:
        raise StoreError("connection refused")

    async def ping(self) -> None:
        raise StoreError("connection refused")


@pytest.fixture
async def broken_client(
    serve_app: ServeApp, clock: Callable[[], Any]
) -> AsyncIterator[httpx.AsyncClient]:
    async for url in serve_app(create_app(BrokenStore(), clock=clock)):
        async with httpx.AsyncClient(base_url=url) as http:
            yield http


@pytest.mark.parametrize(
    "request_line",
    ["POST /api/v1/audit/events", "POST /api/v1/audit/events/batch", "GET /api/v1/audit/events"],
)
async def test_store_failure_is_a_500_problem(
    broken_client: httpx.AsyncClient,
    make_event: EventFactory,
    problem: ProblemOf,
    request_line: str,
) -> None:
    method, path = request_line.split()
    payload = {
        "POST /api/v1/audit/events": make_event(),
        "POST /api/v1/audit/events/batch": [make_event()],
    }.get(request_line)

    response = await broken_client.request(method, path, json=payload)

    detail = problem(response, 500)["detail"]
    assert "connection refused" in detail
    assert "Traceback" not in response.text


@pytest.mark.parametrize("path", ["/health", "/health/ready"])
async def test_health_is_503_when_the_database_is_down(
    broken_client: httpx.AsyncClient, path: str
) -> None:
    response = await broken_client.get(path)

    assert response.status_code == 503
    assert response.json()["error"] == "connection refused"


async def test_liveness_ignores_the_database(broken_client: httpx.AsyncClient) -> None:
    assert (await broken_client.get("/health/live")).status_code == 200


async def test_readiness_is_503_while_draining(
    serve_app: ServeApp, store: Any, clock: Callable[[], Any]
) -> None:
    app = create_app(store, clock=clock)
    async for url in serve_app(app):
        async with httpx.AsyncClient(base_url=url) as http:
            assert (await http.get("/health/ready")).status_code == 200
            app[STATE_KEY].draining = True
            response = await http.get("/health/ready")
            live = await http.get("/health/live")

    assert (response.status_code, response.json()) == (503, {"status": "shutting down"})
    assert live.status_code == 200
