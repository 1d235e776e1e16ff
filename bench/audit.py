"""Scenario 4: audit throughput from `AuditDelivery` into the audit service over HTTP (SQLite and
PostgreSQL), against a floor of raw pre-serialised batch POSTs of the same events; and the same
delivery again while concurrent readers query the service (`bench.audit_readers`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from prometheus_client import CollectorRegistry

from bench import audit_readers, objects, processes
from bench.stats import median, ratio
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
EventIdentity = tuple[str, str, str | None]


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


def readers_plan(events: list[Event]) -> dict[str, list[str]]:
    """Each correlation of the load with its event types: what the readers may see."""
    plan: dict[str, set[str]] = {}
    for _, event in events:
        plan.setdefault(event.correlation_id, set()).add(event.event_type)
    return {correlation: sorted(types) for correlation, types in plan.items()}


def event_identity(event: dict[str, Any]) -> EventIdentity:
    """What tells one event of the load from every other (as sent or as stored)."""
    return event["correlation_id"], event["event_type"], event.get("resource_id")


async def stored_events(url: str) -> Counter[EventIdentity]:
    """How many times the audit service holds each event (its identity), read page by page
    once the load is over (so offsets do not shift under the reader)."""
    stored: Counter[EventIdentity] = Counter()
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        offset = 0
        while True:
            response = await client.get(
                EVENTS_PATH, params={"limit": str(BATCH), "offset": str(offset)}
            )
            response.raise_for_status()
            page = response.json()
            stored.update(event_identity(event) for event in page["data"])
            offset += len(page["data"])
            if not page["data"] or not page["pagination"]["has_more"]:
                return stored


async def deliver(
    url: str, events: list[Event], readers: audit_readers.ReadersProcess | None = None
) -> dict[str, Any]:
    """Submit every event to AuditDelivery at once; time until every one is resolved. With
    `readers`, they query the service meanwhile and are told of each correlation as soon as
    all its events are acknowledged. Then check that every event is stored exactly once."""
    correlation_of = {uid: event.correlation_id for uid, event in events}
    settled, rejected = 0, 0
    done = asyncio.Event()

    def on_settled(uid: str) -> None:
        nonlocal settled, rejected
        refused = delivery.take_outcomes(uid)[1]
        rejected += len(refused)
        if readers is not None and not refused:
            readers.acknowledged(correlation_of[uid])
        settled += 1
        if settled >= len(correlation_of):
            done.set()

    config = AuditDeliveryConfig(batch_size=BATCH, buffer_size=len(events), flush_interval=0.05)
    async with DataStorageClient(url, timeout=120) as client:
        delivery = AuditDelivery(
            client, registry=CollectorRegistry(), config=config, on_settled=on_settled
        )
        delivery.start()
        if readers is not None:
            readers.go()
        began = time.perf_counter()
        for uid, event in events:
            delivery.submit(uid, event, verify_first=False)
        await asyncio.wait_for(done.wait(), 300)
        elapsed = time.perf_counter() - began
        queries = await readers.finish() if readers is not None else None
        await delivery.stop(10)
    total = await stored_count(url)
    stored = await stored_events(url)
    sent = Counter(event_identity(serialize_audit_event(event)) for _, event in events)
    return {
        "events": len(events),
        "seconds": elapsed,
        "events_per_s": len(events) / elapsed,
        "stored": total,
        "rejected": rejected,
        "lost": len(events) - total,
        "missing": (sent - stored).total(),
        "duplicated": (stored - sent).total(),
        **({"queries": queries} if queries is not None else {}),
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
    readers: int = 0,
) -> dict[str, Any]:
    """One run of `mode` into a fresh database of `kind`: `floor`, `delivery`, or
    `delivery_with_readers` (`readers` concurrent readers querying meanwhile)."""
    async with (
        fresh_database(kind, workdir, cluster_url) as database,
        processes.audit_server(database) as url,
    ):
        if mode == "floor":
            return await floor(url, bodies, len(events))
        if mode == "delivery":
            return await deliver(url, events)
        plan = readers_plan(events)
        async with audit_readers.readers_running(url, readers, plan, workdir) as running:
            return await deliver(url, events, running)


Runs = dict[str, dict[str, list[dict[str, Any]]]]
"""Scenario 4's samples: database kind → mode (`floor`, `delivery`, ...) → one per repetition."""


def with_readers_summary(runs: Runs, alone: dict[str, float], readers: int) -> dict[str, Any]:
    """Medians of delivery's throughput while `readers` query the service (ratio: to delivery
    alone, `alone`, in the same run), of the queries per second and their latency; totals of the
    queries, those that failed and the answers found wrong."""
    loaded = {kind: modes["delivery_with_readers"] for kind, modes in runs.items()}
    rates = {kind: median([s["events_per_s"] for s in samples]) for kind, samples in loaded.items()}
    every = [sample["queries"] for samples in loaded.values() for sample in samples]
    return {
        "readers": readers,
        "events_per_s": rates,
        "ratio_to_without_readers": {kind: ratio(rates[kind], alone[kind]) for kind in rates},
        **{
            metric: {
                kind: median([s["queries"][metric] for s in samples])
                for kind, samples in loaded.items()
            }
            for metric in ("queries_per_s", "p50_seconds", "p99_seconds")
        },
        "queries": sum(queries["queries"] for queries in every),
        "failed_queries": sum(queries["failed"] for queries in every),
        "bad_answers": sum(queries["bad_answers"] for queries in every),
    }
