"""Fixtures: the audit service on 127.0.0.1 over SQLite and over a throw-away PostgreSQL, a fake
clock, an event factory, and the real DataStorage spec as the oracle for responses."""

from __future__ import annotations

import copy
import json
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiohttp import web
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from kubernaut_wfe.audit_service import create_app, store_for_url
from kubernaut_wfe.audit_service.store import AuditStore
from kubernaut_wfe_tools.testing.oracles import HEALTH_PATHS, NEWEST_DATASTORAGE_SPEC
from kubernaut_wfe_tools.testing.postgres import PostgresUnavailableError, throwaway_postgres

REPO_ROOT = Path(__file__).resolve().parents[3]
REAL_SPEC = NEWEST_DATASTORAGE_SPEC
START = datetime(2026, 1, 10, 12, 0, 0, tzinfo=UTC)

EventFactory = Callable[..., dict[str, Any]]
ResponseChecker = Callable[[httpx.Response], None]


@dataclass
class FakeClock:
    """The service's clock, moved by tests."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL cluster for the whole session; its maintenance database URL."""
    try:
        with throwaway_postgres() as url:
            yield url
    except PostgresUnavailableError as error:
        _skip_or_fail(str(error))


async def create_postgres_database(server_url: str) -> str:
    """A new, empty database on the server of `server_url`; its URL."""
    name = f"audit_{uuid.uuid4().hex}"
    connection = await asyncpg.connect(server_url)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return server_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database: a new SQLite file, or the session's PostgreSQL database with the
    table dropped (the store's migration recreates it; cheaper than a database per test)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'audit.db'}"
        return
    server_url: str = request.getfixturevalue("postgres_server")
    connection = await asyncpg.connect(server_url)
    try:
        await connection.execute("DROP TABLE IF EXISTS audit_events")
    finally:
        await connection.close()
    yield server_url


@pytest.fixture(scope="session")
def new_postgres_database() -> Callable[[str], Awaitable[str]]:
    """Creates a separate database, for tests that run a service of their own."""
    return create_postgres_database


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[AuditStore]:
    opened = store_for_url(database_url)
    await opened.open()
    yield opened
    await opened.close()


async def _run_app(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def service_url(store: AuditStore, clock: FakeClock) -> AsyncIterator[str]:
    """The base URL of the audit service over `store`, with the fake clock."""
    async for url in _run_app(create_app(store, clock=clock)):
        yield url


@pytest.fixture
def serve_app() -> Callable[[web.Application], AsyncIterator[str]]:
    """Runs any app (e.g. over a broken store) on 127.0.0.1; yields its base URL."""
    return _run_app


@pytest.fixture(scope="session")
def real_spec() -> OpenAPI:
    """The real DataStorage spec (the oracle; never copied into the repository)."""
    if not REAL_SPEC.is_file():
        _skip_or_fail(f"the real DataStorage spec is not at {REAL_SPEC}")
    return OpenAPI.from_file_path(str(REAL_SPEC))


@pytest.fixture
def conforms_to_real_spec(real_spec: OpenAPI) -> ResponseChecker:
    """Asserts that a success response is valid under the real DataStorage spec."""

    def check(response: httpx.Response) -> None:
        assert response.is_success, response.text
        if response.request.url.path in HEALTH_PATHS:
            return
        request = MockRequest(
            "http://localhost:8080",
            response.request.method.lower(),
            response.request.url.path,
            args=dict(response.request.url.params),
        )
        mock = MockResponse(
            response.content,
            status_code=response.status_code,
            content_type=response.headers["content-type"].split(";")[0],
        )
        real_spec.validate_response(request, mock)

    return check


@pytest.fixture
async def client(
    service_url: str, conforms_to_real_spec: ResponseChecker
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the service; every success response it gets is checked by the oracle."""

    async def check(response: httpx.Response) -> None:
        if response.is_success:
            await response.aread()
            conforms_to_real_spec(response)

    async with httpx.AsyncClient(
        base_url=service_url, event_hooks={"response": [check]}, timeout=30
    ) as http:
        yield http


_TEMPLATE: dict[str, Any] = {
    "version": "1.0",
    "event_type": "workflowexecution.workflow.completed",
    "event_category": "workflowexecution",
    "event_action": "completed",
    "event_outcome": "success",
    "actor_type": "service",
    "actor_id": "workflowexecution-controller",
    "resource_type": "WorkflowExecution",
    "resource_id": "wfe-1",
    "correlation_id": "rr-1",
    "namespace": "default",
    "event_data": {
        "event_type": "workflowexecution.workflow.completed",
        "workflow_id": "restart-deployment",
        "workflow_version": "v1.0.0",
        "target_resource": "default/deployment/api",
        "phase": "Completed",
        "container_image": "ghcr.io/kubernaut/workflows/restart@sha256:abc",
        "execution_name": "wfe-1",
        "pipelinerun_name": "wfe-abc123",
        "duration": "2m30s",
    },
}


@pytest.fixture
def make_event(clock: FakeClock) -> EventFactory:
    """A valid AuditEventRequest; keyword overrides replace envelope fields (`...` deletes),
    `event_type` sets both the envelope and the discriminator, `data` merges into event_data."""

    def make(
        *, at: timedelta = timedelta(0), data: dict[str, Any] | None = None, **fields: Any
    ) -> dict[str, Any]:
        event = copy.deepcopy(_TEMPLATE)
        event["event_timestamp"] = (clock.now - timedelta(minutes=1) + at).isoformat()
        if "event_type" in fields:
            event["event_data"]["event_type"] = fields["event_type"]
        event["event_data"].update(data or {})
        for name, value in fields.items():
            if value is ...:
                del event[name]
            else:
                event[name] = value
        return event

    return make


def problem_of(response: httpx.Response, status: int = 400) -> dict[str, Any]:
    """The RFC 7807 body of an error response, after checking its status and media type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = json.loads(response.content)
    assert {"type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    return body


@pytest.fixture
def problem() -> Callable[..., dict[str, Any]]:
    return problem_of
