"""Stored audit events: the ADR-034 `audit_events` row and its JSON forms on the wire."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from kubernaut_wfe.audit_service.timestamps import format_rfc3339, parse_rfc3339

OPTIONAL_TEXT_FIELDS = (
    "actor_type",
    "actor_id",
    "resource_type",
    "resource_id",
    "parent_event_id",
    "namespace",
    "cluster_id",
    "severity",
)
"""Optional envelope fields stored in columns of their own; absent and null are both stored NULL.
`cluster_id` was `cluster_name` before DataStorage's August 2026 contract (the stores rename an
older database's column when they open it)."""

RENAMED_COLUMNS = (("cluster_name", "cluster_id"),)
"""`(old, new)` column names of databases written before a rename."""


@dataclass(frozen=True)
class AuditRecord:
    """One row of `audit_events`: a validated `AuditEventRequest` plus its server-side identity."""

    event_id: uuid.UUID
    version: str
    event_type: str
    event_timestamp: datetime
    event_category: str
    event_action: str
    event_outcome: str
    correlation_id: str
    event_data: Mapping[str, Any]
    optional: Mapping[str, str | None] = field(default_factory=dict)
    duration_ms: int | None = None

    @property
    def event_date(self) -> date:
        """The UTC calendar date of the event (ADR-034's partition key)."""
        return self.event_timestamp.date()

    @classmethod
    def from_request(cls, request: Mapping[str, Any], event_id: uuid.UUID) -> AuditRecord:
        """Build a record from a request body that already passed validation."""
        return cls(
            event_id=event_id,
            version=request["version"],
            event_type=request["event_type"],
            event_timestamp=parse_rfc3339(request["event_timestamp"]),
            event_category=request["event_category"],
            event_action=request["event_action"],
            event_outcome=request["event_outcome"],
            correlation_id=request["correlation_id"],
            event_data=request["event_data"],
            optional={name: request.get(name) for name in OPTIONAL_TEXT_FIELDS},
            duration_ms=request.get("duration_ms"),
        )

    def to_wire(self) -> dict[str, Any]:
        """The `AuditEvent` JSON object: the stored request with `event_id` and `event_date`.

        Optional fields that were absent or null are omitted (several are not nullable in the
        spec, so omission is the one form valid for all of them).
        """
        wire: dict[str, Any] = {
            "event_id": str(self.event_id),
            "event_date": self.event_date.isoformat(),
            "version": self.version,
            "event_type": self.event_type,
            "event_timestamp": format_rfc3339(self.event_timestamp),
            "event_category": self.event_category,
            "event_action": self.event_action,
            "event_outcome": self.event_outcome,
            "correlation_id": self.correlation_id,
        }
        wire.update({name: value for name, value in self.optional.items() if value is not None})
        if self.duration_ms is not None:
            wire["duration_ms"] = self.duration_ms
        wire["event_data"] = dict(self.event_data)
        return wire
