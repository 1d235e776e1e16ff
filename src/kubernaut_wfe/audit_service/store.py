"""The storage interface of the audit service and the choice of backend by database URL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from kubernaut_wfe.audit_service.records import AuditRecord

FILTER_COLUMNS = ("event_type", "event_category", "event_outcome", "severity", "correlation_id")
"""Query parameters that filter by equality on the column of the same name."""


class StoreError(Exception):
    """The database failed; the request that needed it gets a 500."""


@dataclass(frozen=True)
class EventQuery:
    """Filters and page of `GET /api/v1/audit/events`; `None` means no filter."""

    equals: dict[str, str]
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True)
class EventPage:
    """One page of matching events, newest first, and how many match in all."""

    records: list[AuditRecord]
    total: int


class AuditStore(Protocol):
    """Where audit events live. Every method is a coroutine that never blocks the event loop."""

    async def open(self) -> None:
        """Connect and apply the schema (idempotent)."""

    async def close(self) -> None:
        """Release connections and threads."""

    async def insert(self, records: Sequence[AuditRecord]) -> None:
        """Store all records in one transaction, or none of them (raises StoreError)."""

    async def query(self, query: EventQuery) -> EventPage:
        """Events matching the query, newest first (event_timestamp, then insertion order)."""

    async def ping(self) -> None:
        """Raise StoreError unless the database answers."""


def sqlite_path(url: str) -> str:
    """The file of a `sqlite:///relative`, `sqlite:////absolute` or `sqlite:///:memory:` URL."""
    path = url.removeprefix("sqlite:///")
    if not path:
        raise ValueError(f"{url!r} names no database file")
    if path == ":memory:" or Path(path).is_absolute():
        return path
    return str(Path.cwd() / path)


def store_for_url(url: str) -> AuditStore:
    """The store a database URL names (not yet opened). Raises ValueError for unknown schemes."""
    if url.startswith("sqlite:///"):
        from kubernaut_wfe.audit_service.sqlite_store import SqliteAuditStore

        return SqliteAuditStore(sqlite_path(url))
    if url.startswith(("postgresql://", "postgres://")):
        from kubernaut_wfe.audit_service.postgres_store import PostgresAuditStore

        return PostgresAuditStore(url)
    raise ValueError(
        f"unsupported database URL {url!r}: use sqlite:///relative.db, sqlite:////abs/path.db, "
        "sqlite:///:memory: or postgresql://user@host:port/db"
    )
