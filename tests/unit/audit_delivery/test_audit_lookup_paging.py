"""`find_stored` against a query API that pages wrongly: it never queries in a loop."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from kubernaut_wfe.adapters.audit_lookup import find_stored
from kubernaut_wfe.datastorage.client import AuditAmbiguous, DataStorageClient
from kubernaut_wfe.datastorage.events import serialize_audit_event
from kubernaut_wfe_tools.testing.fake_datastorage import AT, make_event

PREDECESSOR_ID = "6f1c2f0e-8b1d-4d59-9a43-1f3e6c3b2a10"


def endless_pages(pagination: dict[str, Any], queries: list[str]) -> DataStorageClient:
    """A server answering every query with the same page: a predecessor's event (same name,
    an hour earlier), claiming more pages."""
    record = {
        **serialize_audit_event(make_event("wfe-1", at=AT - timedelta(hours=1))),
        "event_id": PREDECESSOR_ID,
    }

    def handler(request: httpx.Request) -> httpx.Response:
        queries.append(request.url.params["offset"])
        return httpx.Response(200, json={"data": [record], "pagination": pagination})

    return DataStorageClient("http://datastorage", transport=httpx.MockTransport(handler))


async def test_paging_stops_at_the_servers_own_total() -> None:
    queries: list[str] = []
    pagination = {"limit": 1000, "offset": 0, "total": 1, "has_more": True}
    async with endless_pages(pagination, queries) as client:
        stored = await find_stored(client, [make_event("wfe-1")])
    assert stored == set()
    assert queries == ["0"]


async def test_a_page_repeated_at_a_later_offset_is_ambiguous() -> None:
    queries: list[str] = []
    async with endless_pages({"has_more": True}, queries) as client:
        with pytest.raises(AuditAmbiguous, match="offset 1"):
            await find_stored(client, [make_event("wfe-1")])
    assert queries == ["0", "1"]
