"""Events go in through the write API and come back, as sent, through the query API."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

EVENTS = "/api/v1/audit/events"
BATCH = "/api/v1/audit/events/batch"

EventFactory = Callable[..., dict[str, Any]]


async def _query(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get(EVENTS, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_batch_is_stored_and_read_back_as_sent(
    client: httpx.AsyncClient, make_event: EventFactory
) -> None:
    events = [
        make_event(event_type="workflowexecution.selection.completed", at=timedelta(seconds=1),
                   data={"phase": "Pending", "custom": {"kept": [1, "é"]}}),
        make_event(event_type="workflowexecution.execution.started", at=timedelta(seconds=2),
                   data={"phase": "Running"}),
        make_event(at=timedelta(seconds=3)),
    ]  # fmt: skip
    response = await client.post(BATCH, json=events)

    assert response.status_code == 201
    ids = response.json()["event_ids"]
    assert len(ids) == 3
    assert len({uuid.UUID(event_id) for event_id in ids}) == 3

    stored = (await _query(client, correlation_id="rr-1"))["data"]
    assert [event["event_id"] for event in stored] == ids[::-1]
    for sent, got in zip(events[::-1], stored, strict=True):
        assert got["event_data"] == sent["event_data"]
        assert got["event_date"] == "2026-01-10"
        for name in ("event_type", "event_category", "event_action", "event_outcome",
                     "resource_id", "namespace", "actor_id", "version"):  # fmt: skip
            assert got[name] == sent[name]


async def test_single_event_returns_its_id_and_timestamp(
    client: httpx.AsyncClient, make_event: EventFactory
) -> None:
    event = make_event(event_timestamp="2026-01-10T13:58:00.250+02:00")
    response = await client.post(EVENTS, json=event)

    assert response.status_code == 201
    body = response.json()
    assert body["event_timestamp"] == "2026-01-10T11:58:00.25Z"
    (stored,) = (await _query(client))["data"]
    assert stored["event_id"] == body["event_id"]
    assert stored["event_timestamp"] == "2026-01-10T11:58:00.25Z"


async def test_nullable_fields_round_trip_and_nulls_are_omitted(
    client: httpx.AsyncClient, make_event: EventFactory
) -> None:
    parent = str(uuid.uuid4())
    with_values = make_event(
        parent_event_id=parent, cluster_id="prod", severity="high", duration_ms=1500,
        resource_id="wfe-2",
    )  # fmt: skip
    with_nulls = make_event(
        parent_event_id=None, namespace=None, cluster_id=None, severity=None, duration_ms=None,
        actor_type=..., resource_id="wfe-3",
    )  # fmt: skip
    assert (await client.post(BATCH, json=[with_values, with_nulls])).status_code == 201

    (first,) = (await _query(client, severity="high"))["data"]
    assert (first["parent_event_id"], first["cluster_id"], first["duration_ms"]) == (
        parent,
        "prod",
        1500,
    )
    (second,) = [e for e in (await _query(client))["data"] if e["resource_id"] == "wfe-3"]
    for name in ("parent_event_id", "namespace", "cluster_id", "severity", "duration_ms",
                 "actor_type"):  # fmt: skip
        assert name not in second


@pytest.mark.parametrize(
    ("parameter", "value", "expected_resources"),
    [
        ("event_type", "workflowexecution.workflow.failed", {"b"}),
        ("event_category", "workflowexecution", {"a", "b", "c"}),
        ("event_category", "gateway", set()),
        ("event_outcome", "failure", {"b"}),
        ("event_outcome", "pending", set()),
        ("severity", "critical", {"c"}),
        ("correlation_id", "rr-2", {"a", "c"}),
    ],
)
async def test_each_filter_selects_exactly_the_matching_events(
    client: httpx.AsyncClient,
    make_event: EventFactory,
    parameter: str,
    value: str,
    expected_resources: set[str],
) -> None:
    events = [
        make_event(resource_id="a", correlation_id="rr-2"),
        make_event(resource_id="b", event_type="workflowexecution.workflow.failed",
                   event_action="failed", event_outcome="failure",
                   data={"phase": "Failed", "failure_reason": "TaskFailed"}),
        make_event(resource_id="c", correlation_id="rr-2", severity="critical"),
    ]  # fmt: skip
    assert (await client.post(BATCH, json=events)).status_code == 201

    body = await _query(client, **{parameter: value})

    assert {event["resource_id"] for event in body["data"]} == expected_resources
    assert body["pagination"]["total"] == len(expected_resources)


async def test_pages_are_newest_first_with_has_more(
    client: httpx.AsyncClient, make_event: EventFactory
) -> None:
    # Two events share a timestamp: the later insertion counts as newer.
    offsets = [10, 50, 30, 30, 20]
    events = [
        make_event(resource_id=f"r{index}", at=timedelta(seconds=offset))
        for index, offset in enumerate(offsets)
    ]
    assert (await client.post(BATCH, json=events)).status_code == 201

    pages = [await _query(client, limit=2, offset=offset) for offset in (0, 2, 4)]

    seen = [event["resource_id"] for page in pages for event in page["data"]]
    assert seen == ["r1", "r3", "r2", "r4", "r0"]
    assert [page["pagination"] for page in pages] == [
        {"limit": 2, "offset": 0, "total": 5, "has_more": True},
        {"limit": 2, "offset": 2, "total": 5, "has_more": True},
        {"limit": 2, "offset": 4, "total": 5, "has_more": False},
    ]
    assert (await _query(client, offset=9))["data"] == []


async def test_default_page_is_100_events(
    client: httpx.AsyncClient, make_event: EventFactory
) -> None:
    events = [make_event(resource_id=f"r{index}") for index in range(150)]
    assert (await client.post(BATCH, json=events)).status_code == 201

    body = await _query(client)

    assert len(body["data"]) == 100
    assert body["pagination"] == {"limit": 100, "offset": 0, "total": 150, "has_more": True}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"since": "2026-01-10T10:30:00Z"}, {"recent", "hour-ago"}),
        ({"since": "90m"}, {"recent", "hour-ago"}),
        ({"since": "30m"}, {"recent"}),
        ({"since": "3d"}, {"recent", "hour-ago", "days-ago"}),
        ({"until": "2026-01-10T11:30:00+00:00"}, {"hour-ago", "days-ago"}),
        ({"until": "30m"}, {"hour-ago", "days-ago"}),
        ({"since": "1d", "until": "2h"}, set()),
        ({"since": "2026-01-08T00:00:00Z", "until": "1h30m"}, {"days-ago"}),
    ],
)
async def test_since_and_until_bound_the_timestamps(
    client: httpx.AsyncClient,
    make_event: EventFactory,
    params: dict[str, str],
    expected: set[str],
) -> None:
    events = [
        make_event(resource_id="recent", at=timedelta(minutes=-5)),  # 11:54
        make_event(resource_id="hour-ago", at=timedelta(minutes=-60)),  # 10:59
        make_event(resource_id="days-ago", at=timedelta(days=-2)),
    ]
    assert (await client.post(BATCH, json=events)).status_code == 201

    body = await _query(client, **params)

    assert {event["resource_id"] for event in body["data"]} == expected


async def test_concurrent_batches_are_all_stored(
    client: httpx.AsyncClient, make_event: EventFactory
) -> None:
    import asyncio

    batches = [
        [make_event(resource_id=f"b{batch}-{index}") for index in range(100)] for batch in range(10)
    ]

    responses = await asyncio.gather(*(client.post(BATCH, json=batch) for batch in batches))

    assert [response.status_code for response in responses] == [201] * 10
    ids = {event_id for response in responses for event_id in response.json()["event_ids"]}
    assert len(ids) == 1000
    assert (await _query(client, limit=1))["pagination"]["total"] == 1000
