"""SQLite storage: the stdlib driver, confined to one worker thread that owns the connection."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from kubernaut_wfe.audit_service.records import OPTIONAL_TEXT_FIELDS, RENAMED_COLUMNS, AuditRecord
from kubernaut_wfe.audit_service.store import FILTER_COLUMNS, EventPage, EventQuery, StoreError
from kubernaut_wfe.audit_service.timestamps import from_sortable_utc, sortable_utc

_T = TypeVar("_T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_events (
    insertion_seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    event_version TEXT NOT NULL,
    event_type TEXT NOT NULL,
    event_category TEXT NOT NULL,
    event_action TEXT NOT NULL,
    event_outcome TEXT NOT NULL,
    event_timestamp TEXT NOT NULL,
    event_date TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    parent_event_id TEXT,
    resource_type TEXT,
    resource_id TEXT,
    namespace TEXT,
    cluster_id TEXT,
    actor_type TEXT,
    actor_id TEXT,
    severity TEXT,
    duration_ms INTEGER,
    event_data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_audit_events_correlation_id ON audit_events (correlation_id);
CREATE INDEX IF NOT EXISTS idx_audit_events_event_type ON audit_events (event_type);
CREATE INDEX IF NOT EXISTS idx_audit_events_event_timestamp
    ON audit_events (event_timestamp, insertion_seq);
"""


def _rename_old_columns(connection: sqlite3.Connection) -> None:
    """Bring a database written before a column rename up to date (before the schema runs)."""
    present = {row[1] for row in connection.execute("PRAGMA table_info(audit_events)")}
    for old, new in RENAMED_COLUMNS:
        if old in present and new not in present:
            connection.execute(f"ALTER TABLE audit_events RENAME COLUMN {old} TO {new}")


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
# Every SQL text below is built from the fixed column names above, never from input.
_INSERT = (
    f"INSERT INTO audit_events ({', '.join(_COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join('?' for _ in _COLUMNS)})"
)
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM audit_events"  # noqa: S608


def _row_of(record: AuditRecord) -> tuple[Any, ...]:
    return (
        str(record.event_id),
        record.version,
        record.event_type,
        record.event_category,
        record.event_action,
        record.event_outcome,
        sortable_utc(record.event_timestamp),
        record.event_date.isoformat(),
        record.correlation_id,
        *(record.optional.get(name) for name in OPTIONAL_TEXT_FIELDS),
        record.duration_ms,
        json.dumps(record.event_data, separators=(",", ":"), ensure_ascii=False),
    )


def _record_of(row: sqlite3.Row) -> AuditRecord:
    return AuditRecord(
        event_id=uuid.UUID(row["event_id"]),
        version=row["event_version"],
        event_type=row["event_type"],
        event_timestamp=from_sortable_utc(row["event_timestamp"]),
        event_category=row["event_category"],
        event_action=row["event_action"],
        event_outcome=row["event_outcome"],
        correlation_id=row["correlation_id"],
        event_data=json.loads(row["event_data"]),
        optional={name: row[name] for name in OPTIONAL_TEXT_FIELDS},
        duration_ms=row["duration_ms"],
    )


def _where(query: EventQuery) -> tuple[str, list[Any]]:
    unknown = set(query.equals) - set(FILTER_COLUMNS)
    if unknown:
        raise ValueError(f"not filter columns: {sorted(unknown)}")
    clauses = [f"{column} = ?" for column in query.equals]
    params: list[Any] = list(query.equals.values())
    if query.since is not None:
        clauses.append("event_timestamp >= ?")
        params.append(sortable_utc(query.since))
    if query.until is not None:
        clauses.append("event_timestamp <= ?")
        params.append(sortable_utc(query.until))
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


class SqliteAuditStore:
    """Audit events in a SQLite file (or `:memory:`), accessed from a single worker thread."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-sqlite")
        self._connection: sqlite3.Connection | None = None

    async def _call(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        def in_thread() -> _T:
            if self._connection is None:
                raise StoreError("the SQLite store is not open")
            try:
                return work(self._connection)
            except sqlite3.Error as error:
                raise StoreError(f"SQLite: {error}") from error

        return await asyncio.get_running_loop().run_in_executor(self._executor, in_thread)

    async def open(self) -> None:
        """Open the database file and create the table and indexes if missing."""

        def connect() -> None:
            try:
                connection = sqlite3.connect(self._path, isolation_level=None)
                connection.row_factory = sqlite3.Row
                if self._path != ":memory:":
                    connection.execute("PRAGMA journal_mode=WAL")
                    connection.execute("PRAGMA synchronous=NORMAL")
                connection.execute("PRAGMA busy_timeout=5000")
                _rename_old_columns(connection)
                connection.executescript(_SCHEMA)
            except sqlite3.Error as error:
                raise StoreError(f"cannot open SQLite database {self._path!r}: {error}") from error
            self._connection = connection

        await asyncio.get_running_loop().run_in_executor(self._executor, connect)

    async def close(self) -> None:
        """Close the connection and stop the worker thread."""

        def disconnect() -> None:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

        await asyncio.get_running_loop().run_in_executor(self._executor, disconnect)
        self._executor.shutdown(wait=True)

    async def insert(self, records: Sequence[AuditRecord]) -> None:
        """Insert all records in one transaction."""
        rows = [_row_of(record) for record in records]

        def insert_all(connection: sqlite3.Connection) -> None:
            connection.execute("BEGIN IMMEDIATE")
            try:
                connection.executemany(_INSERT, rows)
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

        await self._call(insert_all)

    async def query(self, query: EventQuery) -> EventPage:
        """Matching events newest first, and their total count."""
        where, params = _where(query)

        def select(connection: sqlite3.Connection) -> EventPage:
            count_sql = f"SELECT COUNT(*) FROM audit_events{where}"  # noqa: S608
            (total,) = connection.execute(count_sql, params).fetchone()
            rows = connection.execute(
                f"{_SELECT}{where} ORDER BY event_timestamp DESC, insertion_seq DESC "
                "LIMIT ? OFFSET ?",
                [*params, query.limit, query.offset],
            ).fetchall()
            return EventPage(records=[_record_of(row) for row in rows], total=total)

        return await self._call(select)

    async def ping(self) -> None:
        """Run a trivial statement."""
        await self._call(lambda connection: connection.execute("SELECT 1").fetchone())
