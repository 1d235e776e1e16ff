"""Selectors, paging and watches as a real apiserver serves them."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from kubernaut_wfe.emulator import ApiEmulator

PR_PATH = "/apis/tekton.dev/v1/namespaces/default/pipelineruns"
ALL_PR_PATH = "/apis/tekton.dev/v1/pipelineruns"
MERGE = {"Content-Type": "application/merge-patch+json"}
Factory = Callable[..., dict[str, Any]]


async def _seed(client: httpx.AsyncClient, make_pipelinerun: Factory) -> None:
    specs = [
        ("a", {"app": "x", "tier": "web"}),
        ("b", {"app": "y", "tier": "web"}),
        ("c", {"app": "z"}),
        ("d", {}),
    ]
    for name, labels in specs:
        response = await client.post(PR_PATH, json=make_pipelinerun(name, **labels))
        assert response.status_code == 201


async def _names(client: httpx.AsyncClient, **params: str) -> list[str]:
    response = await client.get(PR_PATH, params=params)
    assert response.status_code == 200, response.text
    return [item["metadata"]["name"] for item in response.json()["items"]]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=x", ["a"]),
        ("app==y", ["b"]),
        ("app!=x", ["b", "c", "d"]),
        ("app in (x,z)", ["a", "c"]),
        ("app notin (x,z)", ["b", "d"]),
        ("tier", ["a", "b"]),
        ("!tier", ["c", "d"]),
        ("tier=web,app!=y", ["a"]),
    ],
)
async def test_label_selectors_on_list(
    client: httpx.AsyncClient, make_pipelinerun: Factory, selector: str, expected: list[str]
) -> None:
    await _seed(client, make_pipelinerun)
    assert await _names(client, labelSelector=selector) == expected


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("metadata.name=b", ["b"]),
        ("metadata.name!=b", ["a", "c", "d"]),
        ("metadata.namespace=default,metadata.name==c", ["c"]),
        ("metadata.namespace=elsewhere", []),
    ],
)
async def test_field_selectors_on_list(
    client: httpx.AsyncClient, make_pipelinerun: Factory, selector: str, expected: list[str]
) -> None:
    await _seed(client, make_pipelinerun)
    assert await _names(client, fieldSelector=selector) == expected


async def test_unsupported_field_selector_and_bad_label_selector_are_400(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get(PR_PATH, params={"fieldSelector": "spec.x=1"})).status_code == 400
    assert (await client.get(PR_PATH, params={"labelSelector": "a in (b"})).status_code == 400


async def test_limit_and_continue_page_through_everything(
    client: httpx.AsyncClient, make_pipelinerun: Factory
) -> None:
    await _seed(client, make_pipelinerun)
    seen: list[str] = []
    params = {"limit": "3"}
    pages = 0
    while True:
        body = (await client.get(PR_PATH, params=params)).json()
        pages += 1
        seen.extend(item["metadata"]["name"] for item in body["items"])
        token = body["metadata"].get("continue")
        if not token:
            break
        assert body["metadata"]["remainingItemCount"] == 1
        params = {"limit": "3", "continue": token}
    assert (pages, seen) == (2, ["a", "b", "c", "d"])
    bad = await client.get(PR_PATH, params={"continue": "not-a-token!"})
    assert bad.status_code == 400


class WatchStream:
    """Reads watch events (one JSON object per line) from a streaming response."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def next(self, within: float = 5) -> dict[str, Any]:
        line = await asyncio.wait_for(anext(self._lines), within)
        event: dict[str, Any] = json.loads(line)
        return event

    async def rest(self) -> list[dict[str, Any]]:
        return [json.loads(line) async for line in self._lines if line]


@contextlib.asynccontextmanager
async def _open_watch(
    client: httpx.AsyncClient, path: str, **params: str
) -> AsyncIterator[WatchStream]:
    async with client.stream("GET", path, params={"watch": "true", **params}) as response:
        assert response.status_code == 200
        yield WatchStream(response)


async def test_watch_sends_existing_objects_then_changes_with_matching_versions(
    client: httpx.AsyncClient, make_pipelinerun: Factory
) -> None:
    await client.post(PR_PATH, json=make_pipelinerun("first"))
    async with _open_watch(client, PR_PATH) as stream:
        added = await stream.next()
        assert (added["type"], added["object"]["metadata"]["name"]) == ("ADDED", "first")
        created = (await client.post(PR_PATH, json=make_pipelinerun("second"))).json()
        event = await stream.next()
        assert event["type"] == "ADDED"
        assert (
            event["object"]["metadata"]["resourceVersion"]
            == (created["metadata"]["resourceVersion"])
        )
        patched = (
            await client.patch(
                f"{PR_PATH}/second", json={"spec": {"status": "Cancelled"}}, headers=MERGE
            )
        ).json()
        event = await stream.next()
        assert event["type"] == "MODIFIED"
        assert (
            event["object"]["metadata"]["resourceVersion"]
            == (patched["metadata"]["resourceVersion"])
        )
        await client.delete(f"{PR_PATH}/second")
        event = await stream.next()
        assert (event["type"], event["object"]["metadata"]["name"]) == ("DELETED", "second")


async def test_label_selected_watch_sees_only_matching_objects(
    client: httpx.AsyncClient, make_pipelinerun: Factory
) -> None:
    async with _open_watch(client, PR_PATH, labelSelector="team=a") as stream:
        await client.post(PR_PATH, json=make_pipelinerun("other", team="b"))
        await client.post(PR_PATH, json=make_pipelinerun("mine", team="a"))
        event = await stream.next()
        assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "mine")
        # leaving the selection is a DELETED for this watcher, entering it an ADDED
        await client.patch(
            f"{PR_PATH}/mine", json={"metadata": {"labels": {"team": "c"}}}, headers=MERGE
        )
        event = await stream.next()
        assert (event["type"], event["object"]["metadata"]["name"]) == ("DELETED", "mine")
        await client.patch(
            f"{PR_PATH}/other", json={"metadata": {"labels": {"team": "a"}}}, headers=MERGE
        )
        event = await stream.next()
        assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "other")


async def test_watch_from_resource_version_replays_later_events_only(
    client: httpx.AsyncClient, make_pipelinerun: Factory
) -> None:
    await client.post(PR_PATH, json=make_pipelinerun("old"))
    listing = (await client.get(PR_PATH)).json()
    await client.post(PR_PATH, json=make_pipelinerun("new"))
    version = listing["metadata"]["resourceVersion"]
    async with _open_watch(client, PR_PATH, resourceVersion=version) as stream:
        event = await stream.next()
        assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "new")


async def test_watch_with_timeout_seconds_closes_cleanly(
    client: httpx.AsyncClient, make_pipelinerun: Factory
) -> None:
    await client.post(PR_PATH, json=make_pipelinerun("x"))
    async with _open_watch(
        client, PR_PATH, timeoutSeconds="1", allowWatchBookmarks="true"
    ) as stream:
        events = await asyncio.wait_for(stream.rest(), 10)
        assert [e["type"] for e in events] == ["ADDED"]


async def test_watch_from_expired_resource_version_is_410_gone(make_pipelinerun: Factory) -> None:
    emu = ApiEmulator(history_limit=3)
    async with emu.serving(), httpx.AsyncClient(base_url=emu.url) as client:
        for index in range(6):
            await client.post(PR_PATH, json=make_pipelinerun(f"pr-{index}"))
        async with _open_watch(client, PR_PATH, resourceVersion="2") as stream:
            events = await asyncio.wait_for(stream.rest(), 5)
            assert len(events) == 1
            assert events[0]["type"] == "ERROR"
            assert events[0]["object"]["code"] == 410
            assert events[0]["object"]["reason"] == "Expired"


async def test_cross_namespace_watch_with_field_selector(
    client: httpx.AsyncClient, make_pipelinerun: Factory
) -> None:
    await client.post("/api/v1/namespaces", json={"metadata": {"name": "other"}})
    async with _open_watch(client, ALL_PR_PATH, fieldSelector="metadata.name=target") as stream:
        await client.post(PR_PATH, json=make_pipelinerun("decoy"))
        await client.post(
            "/apis/tekton.dev/v1/namespaces/other/pipelineruns",
            json=make_pipelinerun("target", "other"),
        )
        event = await stream.next()
        assert event["object"]["metadata"]["namespace"] == "other"


async def test_send_initial_events_ends_with_a_bookmark(
    client: httpx.AsyncClient, make_pipelinerun: Factory
) -> None:
    await client.post(PR_PATH, json=make_pipelinerun("x"))
    async with _open_watch(
        client, PR_PATH, sendInitialEvents="true", allowWatchBookmarks="true"
    ) as stream:
        assert (await stream.next())["type"] == "ADDED"
        bookmark = await stream.next()
        assert bookmark["type"] == "BOOKMARK"
        annotations = bookmark["object"]["metadata"]["annotations"]
        assert annotations["k8s.io/initial-events-end"] == "true"


async def test_quiet_watch_with_bookmarks_allowed_gets_bookmarks_at_the_latest_version(
    make_pipelinerun: Factory,
) -> None:
    emu = ApiEmulator(bookmark_interval=0.1)
    async with emu.serving(), httpx.AsyncClient(base_url=emu.url) as client:
        created = (await client.post(PR_PATH, json=make_pipelinerun("x"))).json()
        version = created["metadata"]["resourceVersion"]
        params = {"resourceVersion": version, "allowWatchBookmarks": "true"}
        async with _open_watch(client, PR_PATH, **params) as stream:
            bookmark = await stream.next()
            assert bookmark["type"] == "BOOKMARK"
            assert bookmark["object"]["metadata"]["resourceVersion"] == version
        async with _open_watch(client, PR_PATH, resourceVersion=version, timeoutSeconds="1") as s:
            assert await asyncio.wait_for(s.rest(), 5) == []
