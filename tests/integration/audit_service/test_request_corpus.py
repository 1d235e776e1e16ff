"""The request corpus (`tests/corpus/audit_requests.yaml`): each request gets its status from the
audit service, over SQLite and over PostgreSQL; every error is an RFC 7807 problem, a refused
request stores nothing, and no request makes the service fail (500) or log an error."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from kubernaut_wfe.httplog import quiet_client_faults
from kubernaut_wfe_tools.testing.corpus import AUDIT_CLOCK, AuditRequestCase, audit_request_cases

# The fixtures live in the sibling conftest (importlib mode: no absolute import of it).
from .conftest import FakeClock  # noqa: TID252

CASES = audit_request_cases()
ProblemOf = Callable[..., dict[str, Any]]


async def stored(client: httpx.AsyncClient) -> int:
    total: int = (await client.get("/api/v1/audit/events")).json()["pagination"]["total"]
    return total


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_each_request_gets_its_answer(
    case: AuditRequestCase,
    client: httpx.AsyncClient,
    clock: FakeClock,
    problem: ProblemOf,
    caplog: pytest.LogCaptureFixture,
) -> None:
    quiet_client_faults()  # as the service's process does: a client's fault is one warning
    clock.now = AUDIT_CLOCK
    response = await client.request(
        case.method, case.path, content=case.body(), headers=case.request_headers()
    )

    assert response.status_code == case.status, response.text[:2000]
    if case.status >= 400 and case.method != "HEAD":
        shown = problem(response, case.status)["detail"]
    else:
        shown = response.text
    if case.says is not None:
        assert case.says in shown
    created = json.loads(response.content) if case.status == 201 else {}
    assert await stored(client) == len(created.get("event_ids", [created] if created else []))
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
