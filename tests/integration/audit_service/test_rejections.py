"""Every invalid request is a 400 RFC 7807 problem naming the field, and stores nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

EVENTS = "/api/v1/audit/events"
BATCH = "/api/v1/audit/events/batch"

EventFactory = Callable[..., dict[str, Any]]
ProblemOf = Callable[..., dict[str, Any]]

RETIRED = [
    "workflow.selection.completed",
    "execution.workflow.started",
    "workflow.started",
    "workflow.completed",
    "workflow.failed",
]

# (id, overrides for make_event, text the detail must contain)
INVALID_EVENTS: list[tuple[str, dict[str, Any], str]] = [
    ("missing version", {"version": ...}, "version: Field required"),
    ("empty correlation_id", {"correlation_id": ""}, "correlation_id:"),
    ("long event_action", {"event_action": "x" * 51}, "event_action:"),
    ("unknown category", {"event_category": "billing"}, "event_category:"),
    ("unknown outcome", {"event_outcome": "maybe"}, "event_outcome:"),
    ("string duration", {"duration_ms": "1500"}, "duration_ms:"),
    ("boolean duration", {"duration_ms": True}, "duration_ms:"),
    ("huge duration", {"duration_ms": 2**63}, "duration_ms:"),
    ("non-uuid parent", {"parent_event_id": "parent-1"}, "parent_event_id:"),
    ("numeric timestamp", {"event_timestamp": 1767960000}, "event_timestamp:"),
    ("date-only timestamp", {"event_timestamp": "2026-01-10"}, "event_timestamp:"),
    ("timestamp without zone", {"event_timestamp": "2026-01-10T11:00:00"}, "event_timestamp:"),
    ("epoch-text timestamp", {"event_timestamp": "1767960000"}, "event_timestamp:"),
    ("bad phase", {"data": {"phase": "Succeeded"}}, "event_data.phase:"),
    ("missing workflow_id", {"data": {"workflow_id": ...}}, "event_data.workflow_id:"),
    (
        "bad failure_reason",
        {"data": {"failure_reason": "Deduplicated"}},
        "event_data.failure_reason",
    ),
    ("bad started_at", {"data": {"started_at": "yesterday"}}, "event_data.started_at:"),
    (
        "bad error_details",
        {"data": {"error_details": {"message": "m", "code": "c", "component": "x"}}},
        "event_data.error_details.component:",
    ),
    ("event_data not an object", {"event_data": "done"}, "event_data:"),
    ("unknown discriminator", {"event_type": "gateway.signal.received"}, "event_data:"),
    ("missing discriminator", {"data": {"event_type": ...}}, "event_data:"),
    (
        "discriminator differs from event_type",
        {"data": {"event_type": "workflowexecution.workflow.failed"}},
        "event_data.event_type:",
    ),
    ("category of another service", {"event_category": "gateway"}, "event_category:"),
    ("retired category workflow", {"event_category": "workflow"}, "event_category:"),
    ("NUL character", {"resource_id": "wfe\x00"}, "resource_id: NUL"),
    ("too far in the future", {"at": timedelta(minutes=6, seconds=1)}, "event_timestamp:"),
    ("older than 7 days", {"at": timedelta(days=-7)}, "event_timestamp: 2026-01-03T11:59:00"),
]


def _make(make_event: EventFactory, overrides: dict[str, Any]) -> dict[str, Any]:
    data = overrides.get("data")
    event = make_event(**{key: value for key, value in overrides.items() if key != "data"})
    for key, value in (data or {}).items():
        if value is ...:
            del event["event_data"][key]
        else:
            event["event_data"][key] = value
    return event


async def _stored_count(client: httpx.AsyncClient) -> int:
    total: int = (await client.get(EVENTS)).json()["pagination"]["total"]
    return total


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [pytest.param(overrides, expected, id=name) for name, overrides, expected in INVALID_EVENTS],
)
async def test_invalid_event_is_rejected_naming_the_field(
    client: httpx.AsyncClient,
    make_event: EventFactory,
    problem: ProblemOf,
    overrides: dict[str, Any],
    expected: str,
) -> None:
    event = _make(make_event, overrides)

    single = problem(await client.post(EVENTS, json=event))
    batch = problem(await client.post(BATCH, json=[make_event(), event]))

    assert expected in single["detail"]
    assert f"[1].{expected}" in batch["detail"]
    assert await _stored_count(client) == 0


@pytest.mark.parametrize("retired", RETIRED)
async def test_retired_event_types_are_rejected(
    client: httpx.AsyncClient, make_event: EventFactory, problem: ProblemOf, retired: str
) -> None:
    body = problem(await client.post(EVENTS, json=make_event(event_type=retired)))

    assert body["detail"].startswith(f"event_type: '{retired}' is a retired event type")


@pytest.mark.parametrize(
    "at",
    [timedelta(minutes=6), timedelta(days=-7, minutes=2), timedelta(0)],
    ids=["5 minutes ahead", "almost 7 days old", "now"],
)
async def test_timestamps_inside_the_window_are_accepted(
    client: httpx.AsyncClient, make_event: EventFactory, at: timedelta
) -> None:
    # make_event stamps events one minute before the clock: +6 min is +5 min from "now".
    response = await client.post(EVENTS, json=make_event(at=at))

    assert response.status_code == 201, response.text


async def test_one_bad_event_fails_the_whole_batch(
    client: httpx.AsyncClient, make_event: EventFactory, problem: ProblemOf
) -> None:
    events = [make_event(resource_id=f"r{index}") for index in range(5)]
    events[3]["event_data"]["phase"] = "Done"

    body = problem(await client.post(BATCH, json=events))

    assert body["detail"].startswith("[3].event_data.phase:")
    assert "[3].event_data.phase" in body["field_errors"]
    assert await _stored_count(client) == 0


async def test_every_bad_event_of_a_batch_is_named(
    client: httpx.AsyncClient, make_event: EventFactory, problem: ProblemOf
) -> None:
    events = [make_event(), make_event(version=...), make_event(), make_event(event_outcome="?")]

    body = problem(await client.post(BATCH, json=events))

    assert set(body["field_errors"]) == {"[1].version", "[3].event_outcome"}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'[{"version": "1.0",', "malformed JSON"),
        (b"[NaN]", "malformed JSON"),
        (b"\xff\xfe", "malformed JSON"),
        (b"{}", "a batch is a JSON array"),
        (b"[]", "a batch holds 1 to 1000 events, not 0"),
        (b"[1]", "[0]: an audit event is a JSON object"),
    ],
)
async def test_malformed_batch_bodies_are_rejected(
    client: httpx.AsyncClient, problem: ProblemOf, body: bytes, expected: str
) -> None:
    response = await client.post(BATCH, content=body, headers={"content-type": "application/json"})

    assert expected in problem(response)["detail"]


async def test_batch_of_more_than_1000_events_is_rejected(
    client: httpx.AsyncClient, make_event: EventFactory, problem: ProblemOf
) -> None:
    body = problem(await client.post(BATCH, json=[make_event()] * 1001))

    assert "1 to 1000 events, not 1001" in body["detail"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_bodies_that_are_not_json_are_rejected(
    client: httpx.AsyncClient,
    make_event: EventFactory,
    problem: ProblemOf,
    content_type: str | None,
) -> None:
    import json

    headers = {"content-type": content_type} if content_type else {}
    response = await client.post(EVENTS, content=json.dumps(make_event()), headers=headers)

    assert "Content-Type must be application/json" in problem(response)["detail"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"offset": "9" * 5000}, "offset"),
        ({"event_outcome": "done"}, "event_outcome"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-01-10"}, "until"),
        ({"correlation_id": "rr\x00"}, "correlation_id"),
    ],
)
async def test_invalid_query_parameters_are_rejected(
    client: httpx.AsyncClient, problem: ProblemOf, params: dict[str, str], field: str
) -> None:
    body = problem(await client.get(EVENTS, params=params))

    assert body["detail"].startswith(f"{field}:")


async def test_deeply_nested_bodies_are_rejected(
    client: httpx.AsyncClient, make_event: EventFactory, problem: ProblemOf
) -> None:
    import json

    nested = json.dumps(make_event()).replace(
        '"duration": "2m30s"', '"x": ' + "[" * 5000 + "]" * 5000
    )
    deep_body = "[" * 100_000 + "]" * 100_000

    for body in (nested, deep_body):
        response = await client.post(
            EVENTS, content=body, headers={"content-type": "application/json"}
        )
        assert "nested" in problem(response)["detail"] or "recursion" in problem(response)["detail"]


async def test_an_event_over_the_size_bound_is_a_413_and_stores_nothing(
    client: httpx.AsyncClient, make_event: EventFactory, problem: ProblemOf
) -> None:
    big = make_event(data={"rationale": "x" * (300 * 1024)})
    for path, body in ((EVENTS, big), (BATCH, [make_event(), big])):
        response = await client.post(path, json=body)
        assert "may be at most 262144 bytes" in problem(response, 413)["detail"]
    stored = (await client.get(EVENTS, params={"correlation_id": big["correlation_id"]})).json()
    assert stored["data"] == []


async def test_a_body_over_the_bound_is_a_413_problem(
    client: httpx.AsyncClient, problem: ProblemOf
) -> None:
    body = b"[" + b" " * (17 * 1024 * 1024) + b"]"
    response = await client.post(BATCH, content=body, headers={"content-type": "application/json"})
    assert problem(response, 413)["title"] == "Payload Too Large"


async def test_a_page_is_bounded_in_bytes_and_the_rest_follows(
    client: httpx.AsyncClient, make_event: EventFactory
) -> None:
    """20 events of 250 KiB: a page of 100 would be 5 MB; it ends before 4 MiB, and the next
    offset brings the rest."""
    events = [
        make_event(correlation_id="rr-big", data={"rationale": "y" * (250 * 1024)})
        for _ in range(20)
    ]
    for event in events:
        assert (await client.post(EVENTS, json=event)).status_code == 201
    first = await client.get(EVENTS, params={"correlation_id": "rr-big"})
    page = first.json()
    assert len(first.content) <= 4 * 1024 * 1024 + 64 * 1024
    assert 0 < len(page["data"]) < 20
    assert page["pagination"]["has_more"] is True
    rest = await client.get(
        EVENTS, params={"correlation_id": "rr-big", "offset": str(len(page["data"]))}
    )
    assert len(page["data"]) + len(rest.json()["data"]) == 20
    assert rest.json()["pagination"]["has_more"] is False
