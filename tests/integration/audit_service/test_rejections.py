"""Invalid requests beyond the request corpus (`tests/corpus/audit_requests.yaml`): a batch names
every bad event and stores none, inputs too large to write there, and a page bounded in bytes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

EVENTS = "/api/v1/audit/events"
BATCH = "/api/v1/audit/events/batch"

EventFactory = Callable[..., dict[str, Any]]
ProblemOf = Callable[..., dict[str, Any]]


async def _stored_count(client: httpx.AsyncClient) -> int:
    total: int = (await client.get(EVENTS)).json()["pagination"]["total"]
    return total


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


async def test_an_offset_of_5000_digits_is_rejected_without_converting_it(
    client: httpx.AsyncClient, problem: ProblemOf
) -> None:
    body = problem(await client.get(EVENTS, params={"offset": "9" * 5000}))

    assert body["detail"].startswith("offset: must be an integer")


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
