"""The project's own DataStorage client speaks to the audit service without translation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kubernaut_wfe.datastorage.client import AuditRejected, DataStorageClient
from kubernaut_wfe.datastorage.models import AuditEventRequest, EventOutcome

EventFactory = Callable[..., dict[str, Any]]


async def test_client_writes_and_reads_back_typed_events(
    service_url: str, make_event: EventFactory
) -> None:
    events = [
        AuditEventRequest.model_validate(make_event(resource_id=f"wfe-{index}"))
        for index in range(3)
    ]
    async with DataStorageClient(service_url) as client:
        created = await client.create_audit_events_batch(events)
        page = await client.query_audit_events(
            correlation_id="rr-1", event_outcome=EventOutcome.SUCCESS, since="1h", limit=2
        )

    assert created.event_ids is not None
    assert len(created.event_ids) == 3
    assert page.pagination is not None
    assert (page.pagination.total, page.pagination.has_more) == (3, True)
    assert page.data is not None
    # Newest first; equal timestamps in the order they were stored, last first.
    assert [event.resource_id for event in page.data] == ["wfe-2", "wfe-1"]
    assert page.data[0].event_id == created.event_ids[2]
    assert page.data[1].event_data == events[1].event_data


async def test_client_sees_the_rejection_detail(service_url: str, make_event: EventFactory) -> None:
    old = AuditEventRequest.model_validate(make_event(event_timestamp="2025-12-01T00:00:00Z"))

    async with DataStorageClient(service_url) as client:
        with pytest.raises(AuditRejected) as rejected:
            await client.create_audit_events_batch([old])

    assert rejected.value.detail.startswith("[0].event_timestamp: 2025-12-01T00:00:00Z")
