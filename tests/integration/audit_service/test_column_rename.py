"""A database written before DataStorage's August 2026 contract (envelope `cluster_name`, now
`cluster_id`) is brought up to date when the store opens it: nothing stored is lost."""

from __future__ import annotations

import sqlite3
import uuid
from typing import Any

import asyncpg

from kubernaut_wfe.audit_service import store_for_url
from kubernaut_wfe.audit_service.records import AuditRecord
from kubernaut_wfe.audit_service.store import EventQuery

from .conftest import EventFactory  # noqa: TID252


async def _rename_back(database_url: str) -> None:
    """Make the table look as a store before the rename wrote it."""
    statement = "ALTER TABLE audit_events RENAME COLUMN cluster_id TO cluster_name"
    if database_url.startswith("sqlite:///"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as connection:
            connection.execute(statement)
        return
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def test_an_older_database_keeps_its_events_and_takes_new_ones(
    database_url: str, make_event: EventFactory
) -> None:
    older: dict[str, Any] = make_event(cluster_id="hub-before", correlation_id="rr-old")
    store = store_for_url(database_url)
    await store.open()
    await store.insert([AuditRecord.from_request(older, uuid.uuid4())])
    await store.close()
    await _rename_back(database_url)

    reopened = store_for_url(database_url)
    await reopened.open()
    try:
        newer: dict[str, Any] = make_event(cluster_id="spoke-1", correlation_id="rr-new")
        await reopened.insert([AuditRecord.from_request(newer, uuid.uuid4())])
        page = await reopened.query(EventQuery(equals={}))
    finally:
        await reopened.close()
    clusters = {
        record.correlation_id: record.to_wire().get("cluster_id") for record in page.records
    }
    assert clusters == {"rr-old": "hub-before", "rr-new": "spoke-1"}
