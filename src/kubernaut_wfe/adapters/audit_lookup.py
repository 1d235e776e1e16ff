"""Asks DataStorage's query API which audit events it already stores.

DataStorage has no idempotency key, so an event is identified by
(correlation_id, event_type, resource_id, namespace, event_timestamp). The query filters on the
first two; the rest is matched on the returned records, page by page (as far as the server's own
`total`; a server repeating its pages gets `AuditAmbiguous`). The timestamp tells a re-created
WorkflowExecution's events from its predecessor's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import NamedTuple, Protocol

from kubernaut_wfe.core.audit_paging import next_page_offset, page_repeats
from kubernaut_wfe.datastorage.client import AuditAmbiguous
from kubernaut_wfe.datastorage.models import (
    AuditEventRequest,
    AuditEventsQueryResponse,
    BatchAuditEventResponse,
    Pagination,
)

QUERY_PAGE_SIZE = 1000
"""The query API's largest page."""


class AuditApi(Protocol):
    """The two DataStorage operations delivery needs (`DataStorageClient` provides them)."""

    async def create_audit_events_batch(
        self, events: Sequence[AuditEventRequest]
    ) -> BatchAuditEventResponse: ...

    async def query_audit_events(
        self,
        *,
        event_type: str | None = None,
        correlation_id: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> AuditEventsQueryResponse: ...


class EventKey(NamedTuple):
    """What makes two stored audit events the same event."""

    correlation_id: str
    event_type: str
    resource_id: str | None
    namespace: str | None
    event_timestamp: datetime


def event_key(event: AuditEventRequest) -> EventKey:
    """The identity of `event` as DataStorage stores it."""
    return EventKey(
        correlation_id=event.correlation_id,
        event_type=str(event.event_type),
        resource_id=event.resource_id,
        namespace=event.namespace,
        event_timestamp=event.event_timestamp,
    )


async def find_stored(
    api: AuditApi, events: Iterable[AuditEventRequest], *, page_size: int = QUERY_PAGE_SIZE
) -> set[EventKey]:
    """The keys of `events` that DataStorage already stores (one paged query per filter pair).

    Raises the client's errors (`AuditUnavailable`, `AuditAmbiguous`, `AuditRejected`) unchanged,
    and `AuditAmbiguous` when the server answers a later page with an earlier page's records.
    """
    wanted_by_filter: dict[tuple[str, str], set[EventKey]] = defaultdict(set)
    for event in events:
        key = event_key(event)
        wanted_by_filter[key.correlation_id, key.event_type].add(key)
    found: set[EventKey] = set()
    for (correlation_id, event_type), wanted in wanted_by_filter.items():
        offset: int | None = 0
        seen_ids: set[str] = set()
        while offset is not None and wanted - found:
            page = await api.query_audit_events(
                correlation_id=correlation_id, event_type=event_type, limit=page_size, offset=offset
            )
            records = page.data or []
            found.update(key for key in map(event_key, records) if key in wanted)
            page_ids = [str(record.event_id) for record in records if record.event_id is not None]
            if page_repeats(page_ids, seen_ids):
                raise AuditAmbiguous(
                    f"the query API answered offset {offset} with records it had already given:"
                    " it pages wrongly, so whether the events are stored cannot be told"
                )
            seen_ids.update(page_ids)
            pagination = page.pagination or Pagination()
            offset = next_page_offset(
                offset, len(records), has_more=pagination.has_more, total=pagination.total
            )
    return found
