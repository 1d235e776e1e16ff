"""Property-based conformance of the audit service to the project's spec (schemathesis, all
default checks), over SQLite and over PostgreSQL.

Positive (schema-valid) requests are repaired for the server rules that the spec states in prose
but that a schema cannot express, so that `positive_data_acceptance` still holds for everything
else: `event_timestamp` inside [now - 7 days, now + 5 minutes]; `event_data.event_type` equal to
`event_type`; `event_category: workflowexecution` for `workflowexecution.*` events; no NUL
characters (no database stores them); `duration_ms` inside 64 bits; `since`/`until` being
RFC 3339 or a relative duration. Negative requests are sent as generated.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis import GenerationMode

from kubernaut_wfe.audit_service.server import serve
from kubernaut_wfe.audit_service.timestamps import parse_time_bound

OUR_SPEC = Path(__file__).resolve().parents[3] / "api" / "openapi" / "data-storage-v1.yaml"
MAX_EXAMPLES = 40

schema = schemathesis.openapi.from_path(OUR_SPEC)
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=MAX_EXAMPLES,
    deterministic=True,
    database="none",
)


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    return value


def _repair_event(event: Any) -> Any:
    if not isinstance(event, dict):
        return event
    event = _without_nul(event)
    event["event_timestamp"] = datetime.now(UTC).isoformat()
    payload = event.get("event_data")
    if isinstance(payload, dict) and isinstance(payload.get("event_type"), str):
        event["event_type"] = payload["event_type"]
        event["event_category"] = "workflowexecution"
    if isinstance(event.get("duration_ms"), int):
        event["duration_ms"] = max(min(event["duration_ms"], 2**63 - 1), -(2**63))
    return event


def _is_time_bound(value: Any) -> bool:
    try:
        parse_time_bound(str(value), now=datetime.now(UTC))
    except ValueError:
        return False
    return True


def repair_positive_case(case: schemathesis.Case[Any]) -> None:
    """Make a schema-valid case obey the server rules listed in the module docstring."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if isinstance(case.body, list):
        case.body = [_repair_event(event) for event in case.body]
    elif isinstance(case.body, dict):
        case.body = _repair_event(case.body)
    if case.query:
        case.query = {
            name: _without_nul(value)
            for name, value in case.query.items()
            if name not in ("since", "until") or _is_time_bound(value)
        }


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live_service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The service (real clock) in a thread of its own; the schemathesis calls are blocking."""
    if request.param == "sqlite":
        database_url = f"sqlite:///{tmp_path_factory.mktemp('schemathesis') / 'audit.db'}"
    else:
        server_url = request.getfixturevalue("postgres_server")
        create_database = request.getfixturevalue("new_postgres_database")
        database_url = asyncio.run(create_database(server_url))
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    ready: list[str] = []
    started = threading.Event()

    def announce(url: str) -> None:
        ready.append(url)
        started.set()

    def run() -> None:
        try:
            loop.run_until_complete(
                serve("127.0.0.1", 0, database_url, stop=stop, on_ready=announce)
            )
        finally:
            started.set()

    thread = threading.Thread(target=run, name="audit-service", daemon=True)
    thread.start()
    started.wait(timeout=30)
    assert ready, "the audit service did not start"
    yield ready[0]
    loop.call_soon_threadsafe(stop.set)
    thread.join(timeout=30)
    loop.close()


@schema.parametrize()
def test_service_conforms_to_our_spec(case: schemathesis.Case[Any], live_service: str) -> None:
    repair_positive_case(case)
    case.call_and_validate(base_url=live_service)
