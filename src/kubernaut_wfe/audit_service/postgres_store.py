"""PostgreSQL storage through asyncpg: JSONB payloads, batches written with COPY."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import asyncpg

from kubernaut_wfe.audit_service.records import OPTIONAL_TEXT_FIELDS, RENAMED_COLUMNS, AuditRecord
from kubernaut_wfe.audit_service.store import FILTER_COLUMNS, EventPage, EventQuery, StoreError

_MIGRATION_LOCK = 0x6B776665  # any constant: serialises concurrent start-ups of several servers

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_events (
    event_id UUID PRIMARY KEY,
    insertion_seq BIGINT GENERATED ALWAYS AS IDENTITY,
    event_version VARCHAR(20) NOT NULL,
    event_type VARCHAR(100) NOT NULL,
    event_category VARCHAR(50) NOT NULL,
    event_action VARCHAR(50) NOT NULL,
    event_outcome VARCHAR(20) NOT NULL,
    event_timestamp TIMESTAMPTZ NOT NULL,
    event_date DATE NOT NULL,
    correlation_id VARCHAR(255) NOT NULL,
    parent_event_id UUID,
    resource_type TEXT,
    resource_id TEXT,
    namespace TEXT,
    cluster_id TEXT,
    actor_type TEXT,
    actor_id TEXT,
    severity TEXT,
    duration_ms BIGINT,
    event_data JSONB NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_audit_events_correlation_id ON audit_events (correlation_id);
CREATE INDEX IF NOT EXISTS idx_audit_events_event_type ON audit_events (event_type);
CREATE INDEX IF NOT EXISTS idx_audit_events_event_timestamp
    ON audit_events (event_timestamp DESC, insertion_seq DESC);
"""

_COLUMNS = (
    "event_id",
    "event_version",
    "event_type",
    "event_category",
    "event_action",
    "event_outcome",
    "event_timestamp",
    "event_date",
    "correlation_id",
    *OPTIONAL_TEXT_FIELDS,
    "duration_ms",
    "event_data",
)
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM audit_events"  # noqa: S608 - fixed column names


def _row_of(record: AuditRecord) -> tuple[Any, ...]:
    return (
        record.event_id,
        record.version,
        record.event_type,
        record.event_category,
        record.event_action,
        record.event_outcome,
        record.event_timestamp,
        record.event_date,
        record.correlation_id,
        *(record.optional.get(name) for name in OPTIONAL_TEXT_FIELDS),
        record.duration_ms,
        json.dumps(record.event_data, separators=(",", ":"), ensure_ascii=False),
    )


def _record_of(row: asyncpg.Record) -> AuditRecord:
    optional = {name: row[name] for name in OPTIONAL_TEXT_FIELDS}
    if optional["parent_event_id"] is not None:
        optional["parent_event_id"] = str(optional["parent_event_id"])
    return AuditRecord(
        event_id=row["event_id"],
        version=row["event_version"],
        event_type=row["event_type"],
        event_timestamp=row["event_timestamp"],
        event_category=row["event_category"],
        event_action=row["event_action"],
        event_outcome=row["event_outcome"],
        correlation_id=row["correlation_id"],
        event_data=json.loads(row["event_data"]),
        optional=optional,
        duration_ms=row["duration_ms"],
    )


def _where(query: EventQuery) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in query.equals.items():
        if column not in FILTER_COLUMNS:
            raise ValueError(f"{column!r} is not a filter column")
        params.append(value)
        clauses.append(f"{column} = ${len(params)}")
    if query.since is not None:
        params.append(query.since)
        clauses.append(f"event_timestamp >= ${len(params)}")
    if query.until is not None:
        params.append(query.until)
        clauses.append(f"event_timestamp <= ${len(params)}")
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


async def _rename_old_columns(connection: asyncpg.Connection) -> None:
    """Bring a database written before a column rename up to date (before the schema runs)."""
    present = {
        row["column_name"]
        for row in await connection.fetch(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = 'audit_events'"
        )
    }
    for old, new in RENAMED_COLUMNS:
        if old in present and new not in present:
            await connection.execute(f"ALTER TABLE audit_events RENAME COLUMN {old} TO {new}")


class PostgresAuditStore:
    """Audit events in PostgreSQL, through a small asyncpg connection pool."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._pool: asyncpg.Pool | None = None

    def _require_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise StoreError("the PostgreSQL store is not open")
        return self._pool

    async def open(self) -> None:
        """Connect and create the table and indexes if missing."""
        try:
            self._pool = await asyncpg.create_pool(self._url, min_size=1, max_size=10)
            async with self._pool.acquire() as connection, connection.transaction():
                await connection.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
                await _rename_old_columns(connection)
                await connection.execute(_SCHEMA)
        except (OSError, asyncpg.PostgresError) as error:
            raise StoreError(f"cannot open PostgreSQL database: {error}") from error

    async def close(self) -> None:
        """Close the pool."""
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def insert(self, records: Sequence[AuditRecord]) -> None:
        """Copy all records in within one transaction."""
        rows = [_row_of(record) for record in records]
        try:
            async with self._require_pool().acquire() as connection, connection.transaction():
                await connection.copy_records_to_table(
                    "audit_events", records=rows, columns=list(_COLUMNS)
                )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            raise StoreError(f"PostgreSQL: {error}") from error

    async def query(self, query: EventQuery) -> EventPage:
        """Matching events newest first, and their total count."""
        where, params = _where(query)
        count_sql = f"SELECT COUNT(*) FROM audit_events{where}"  # noqa: S608 - fixed columns
        page_sql = (
            f"{_SELECT}{where} ORDER BY event_timestamp DESC, insertion_seq DESC "
            f"LIMIT ${len(params) + 1} OFFSET ${len(params) + 2}"
        )
        try:
            async with self._require_pool().acquire() as connection:
                total = await connection.fetchval(count_sql, *params)
                rows = await connection.fetch(page_sql, *params, query.limit, query.offset)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            raise StoreError(f"PostgreSQL: {error}") from error
        return EventPage(records=[_record_of(row) for row in rows], total=int(total))

    async def ping(self) -> None:
        """Run a trivial statement."""
        try:
            async with self._require_pool().acquire() as connection:
                await connection.fetchval("SELECT 1")
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            raise StoreError(f"PostgreSQL: {error}") from error
