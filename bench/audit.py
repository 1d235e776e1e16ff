"""Scenario 4: audit throughput from `AuditDelivery` into the audit service over HTTP (SQLite and
PostgreSQL), against a floor of raw pre-serialised batch POSTs of the same events."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from prometheus_client import CollectorRegistry

from bench import objects, processes
from kubernaut_wfe.adapters.audit_config import AuditDeliveryConfig
from kubernaut_wfe.adapters.audit_delivery import AuditDelivery
from kubernaut_wfe.core.validation import parse_wfe
from kubernaut_wfe.datastorage.client import DataStorageClient
from kubernaut_wfe.datastorage.events import build_audit_event, serialize_audit_event
from kubernaut_wfe.datastorage.models import AuditEventRequest
from kubernaut_wfe_tools.testing.postgres import PostgresUnavailableError, throwaway_postgres

BATCH = 1000
BATCH_PATH = "/api/v1/audit/events/batch"
EVENTS_PATH = "/api/v1/audit/events"
Event = tuple[str, AuditEventRequest]


def build_events(count: int) -> list[Event]:
    """`count` events (three per WFE, as a lifecycle emits) with their WFE uids."""
    ended = datetime.now(UTC) - timedelta(minutes=5)
    events: list[Event] = []
    for index in range((count + 2) // 3):
        body = objects.settled_wfe(index, ended)
        body["metadata"]["uid"] = str(uuid.uuid4())
        wfe = parse_wfe(body)
        for event_type in objects.AUDITED:
            events.append((wfe.metadata.uid, build_audit_event(event_type, wfe, at=ended)))
    return events[:count]


def batches_of(events: list[Event]) -> list[bytes]:
    """The floor's request bodies: the same events, serialised up front, 1000 per batch."""
    bodies = [serialize_audit_event(event) for _, event in events]
    return [json.dumps(bodies[i : i + BATCH]).encode() for i in range(0, len(bodies), BATCH)]


async def stored_count(url: str) -> int:
    """The number of events the audit service holds."""
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        response = await client.get(EVENTS_PATH, params={"limit": "1"})
        response.raise_for_status()
        return int(response.json()["pagination"]["total"])


async def deliver(url: str, events: list[Event]) -> dict[str, Any]:
    """Submit every event to AuditDelivery at once; time until every one is resolved."""
    resolved = 0
    done = asyncio.Event()

    def on_outcome(_: str) -> None:
        nonlocal resolved
        resolved += 1
        if resolved >= len(events):
            done.set()

    config = AuditDeliveryConfig(batch_size=BATCH, buffer_size=len(events), flush_interval=0.05)
    async with DataStorageClient(url, timeout=120) as client:
        delivery = AuditDelivery(
            client, registry=CollectorRegistry(), config=config, on_outcome=on_outcome
        )
        delivery.start()
        began = time.perf_counter()
        for uid, event in events:
            delivery.submit(uid, event, verify_first=False)
        await asyncio.wait_for(done.wait(), 300)
        elapsed = time.perf_counter() - began
        rejected = sum(len(delivery.take_outcomes(uid)[1]) for uid in {u for u, _ in events})
        await delivery.stop(10)
    stored = await stored_count(url)
    return {
        "events": len(events),
        "seconds": elapsed,
        "events_per_s": len(events) / elapsed,
        "stored": stored,
        "rejected": rejected,
        "lost": len(events) - stored,
    }


async def floor(url: str, bodies: list[bytes], count: int) -> dict[str, Any]:
    """POST the pre-serialised batches one after another, as delivery does."""
    headers = {"Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        began = time.perf_counter()
        for body in bodies:
            response = await client.post(BATCH_PATH, content=body, headers=headers)
            response.raise_for_status()
        elapsed = time.perf_counter() - began
    stored = await stored_count(url)
    return {"events": count, "seconds": elapsed, "events_per_s": count / elapsed, "stored": stored}


@contextlib.contextmanager
def postgres_cluster() -> Iterator[str | None]:
    """A throw-away PostgreSQL cluster's URL, or None when PostgreSQL is not installed."""
    try:
        with throwaway_postgres() as url:
            yield url
    except PostgresUnavailableError:
        yield None


_database_serial = 0


@contextlib.asynccontextmanager
async def fresh_database(kind: str, workdir: Path, cluster_url: str | None) -> AsyncIterator[str]:
    """A new empty database URL of `kind` (sqlite file or a new PostgreSQL database)."""
    global _database_serial  # noqa: PLW0603
    _database_serial += 1
    name = f"bench_{_database_serial}"
    if kind == "sqlite":
        yield f"sqlite:///{workdir / f'{name}.db'}"
        return
    assert cluster_url is not None
    admin = await asyncpg.connect(cluster_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield cluster_url.rsplit("/", 1)[0] + f"/{name}"


async def measure(
    kind: str,
    mode: str,
    events: list[Event],
    bodies: list[bytes],
    *,
    workdir: Path,
    cluster_url: str | None,
) -> dict[str, Any]:
    """One run of `mode` (delivery or floor) into a fresh database of `kind`."""
    async with (
        fresh_database(kind, workdir, cluster_url) as database,
        processes.audit_server(database) as url,
    ):
        if mode == "delivery":
            return await deliver(url, events)
        return await floor(url, bodies, len(events))
