"""Selectors, paging and watches, on the emulator and the real API server alike (a watch or list
across namespaces is narrowed to the test's own names: the real server is shared)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from kubernaut_wfe_tools.emulator import ApiEmulator

from .fidelity import MERGE, Api, unique  # noqa: TID252

PR_PATH = "/apis/tekton.dev/v1/namespaces/default/pipelineruns"
Factory = Callable[..., dict[str, Any]]


async def _seed(api: Api) -> None:
    specs = [
        ("a", {"app": "x", "tier": "web"}),
        ("b", {"app": "y", "tier": "web"}),
        ("c", {"app": "z"}),
        ("d", {}),
    ]
    for name, labels in specs:
        await api.create(api.prs, api.pipelinerun(name, **labels))


async def _names(api: Api, **params: str) -> list[str]:
    response = await api.client.get(api.prs, params=params)
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
async def test_label_selectors_on_list(api: Api, selector: str, expected: list[str]) -> None:
    await _seed(api)
    assert await _names(api, labelSelector=selector) == expected


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("metadata.name=b", ["b"]),
        ("metadata.name!=b", ["a", "c", "d"]),
        ("metadata.namespace={ns},metadata.name==c", ["c"]),
        ("metadata.namespace=elsewhere", []),
    ],
)
async def test_field_selectors_on_list(api: Api, selector: str, expected: list[str]) -> None:
    await _seed(api)
    assert await _names(api, fieldSelector=selector.format(ns=api.namespace)) == expected


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"fieldSelector": "spec.x=1"}, "field label not supported: spec.x"),
        ({"labelSelector": "a in (b"}, None),
        ({"continue": "not-a-token!"}, None),
        ({"limit": "abc"}, None),
    ],
    ids=["field", "label", "continue", "limit"],
)
async def test_bad_list_parameters_are_400(
    api: Api, params: dict[str, str], message: str | None
) -> None:
    response = await api.client.get(api.prs, params=params)
    assert response.status_code == 400
    assert response.json()["reason"] == "BadRequest"
    if message is not None:
        assert response.json()["message"] == message


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        (
            {"sendInitialEvents": "true"},
            "sendInitialEvents",
            "Forbidden: sendInitialEvents is forbidden for list",
        ),
        (
            {"resourceVersionMatch": "NotOlderThan"},
            "resourceVersionMatch",
            "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided",
        ),
        (
            {"watch": "true", "sendInitialEvents": "true", "allowWatchBookmarks": "true"},
            "resourceVersionMatch",
            "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
        ),
        (
            {"watch": "true", "resourceVersionMatch": "NotOlderThan"},
            "resourceVersionMatch",
            "Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is "
            "provided",
        ),
    ],
    ids=["list-initial-events", "list-match", "watch-initial-events", "watch-match"],
)
async def test_inconsistent_list_options_are_422(
    api: Api, params: dict[str, str], field: str, message: str
) -> None:
    response = await api.client.get(api.prs, params={**params, "timeoutSeconds": "1"})
    assert response.status_code == 422
    body = response.json()
    assert body["reason"] == "Invalid"
    assert body["message"] == f'ListOptions.meta.k8s.io "" is invalid: {field}: {message}'
    assert body["details"]["causes"] == [
        {"reason": "FieldValueForbidden", "message": message, "field": field}
    ]


async def test_limit_and_continue_page_through_everything(api: Api) -> None:
    await _seed(api)
    seen: list[str] = []
    params = {"limit": "3"}
    pages = 0
    while True:
        body = (await api.client.get(api.prs, params=params)).json()
        pages += 1
        seen.extend(item["metadata"]["name"] for item in body["items"])
        token = body["metadata"].get("continue")
        if not token:
            break
        assert body["metadata"]["remainingItemCount"] == 1
        params = {"limit": "3", "continue": token}
    assert (pages, seen) == (2, ["a", "b", "c", "d"])


async def test_a_negative_limit_lists_everything(api: Api) -> None:
    await _seed(api)
    assert await _names(api, limit="-1") == ["a", "b", "c", "d"]


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


async def test_watch_sends_existing_objects_then_changes_with_matching_versions(api: Api) -> None:
    await api.create(api.prs, api.pipelinerun("first"))
    async with _open_watch(api.client, api.prs) as stream:
        added = await stream.next()
        assert (added["type"], added["object"]["metadata"]["name"]) == ("ADDED", "first")
        created = await api.create(api.prs, api.pipelinerun("second"))
        event = await stream.next()
        assert event["type"] == "ADDED"
        assert event["object"] == created
        patched = (
            await api.client.patch(
                f"{api.prs}/second", json={"spec": {"status": "Cancelled"}}, headers=MERGE
            )
        ).json()
        event = await stream.next()
        assert event["type"] == "MODIFIED"
        assert event["object"] == patched
        await api.client.delete(f"{api.prs}/second")
        event = await stream.next()
        assert (event["type"], event["object"]["metadata"]["name"]) == ("DELETED", "second")
        # the deletion is a write of its own: a later version than the last update's
        removed_at = int(event["object"]["metadata"]["resourceVersion"])
        assert removed_at > int(patched["metadata"]["resourceVersion"])
        assert event["object"]["spec"] == patched["spec"]


async def test_label_selected_watch_sees_only_matching_objects(api: Api) -> None:
    async with _open_watch(api.client, api.prs, labelSelector="team=a") as stream:
        await api.create(api.prs, api.pipelinerun("other", team="b"))
        await api.create(api.prs, api.pipelinerun("mine", team="a"))
        event = await stream.next()
        assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "mine")
        # leaving the selection is a DELETED for this watcher (the object as it was, at the
        # version of the change), entering it an ADDED
        left = await api.client.patch(
            f"{api.prs}/mine", json={"metadata": {"labels": {"team": "c"}}}, headers=MERGE
        )
        event = await stream.next()
        assert (event["type"], event["object"]["metadata"]["name"]) == ("DELETED", "mine")
        assert event["object"]["metadata"]["labels"] == {"team": "a"}
        assert (
            event["object"]["metadata"]["resourceVersion"]
            == (left.json()["metadata"]["resourceVersion"])
        )
        await api.client.patch(
            f"{api.prs}/other", json={"metadata": {"labels": {"team": "a"}}}, headers=MERGE
        )
        event = await stream.next()
        assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "other")


async def test_watch_from_resource_version_replays_later_events_only(api: Api) -> None:
    await api.create(api.prs, api.pipelinerun("old"))
    listing = (await api.client.get(api.prs)).json()
    await api.create(api.prs, api.pipelinerun("new"))
    version = listing["metadata"]["resourceVersion"]
    async with _open_watch(api.client, api.prs, resourceVersion=version) as stream:
        event = await stream.next()
        assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "new")


async def test_watch_with_timeout_seconds_closes_cleanly(api: Api) -> None:
    await api.create(api.prs, api.pipelinerun("x"))
    async with _open_watch(api.client, api.prs, timeoutSeconds="1") as stream:
        events = await asyncio.wait_for(stream.rest(), 10)
        assert [e["type"] for e in events] == ["ADDED"]


async def test_watch_without_a_version_and_with_bookmarks_ends_the_state_with_a_bookmark(
    api: Api,
) -> None:
    created = await api.create(api.prs, api.pipelinerun("x"))
    async with _open_watch(
        api.client, api.prs, timeoutSeconds="1", allowWatchBookmarks="true"
    ) as stream:
        events = await asyncio.wait_for(stream.rest(), 10)
    # (the real server may add a bookmark of its own before the timeout)
    assert [e["type"] for e in events[:2]] == ["ADDED", "BOOKMARK"]
    assert {e["type"] for e in events[2:]} <= {"BOOKMARK"}
    bookmark = events[1]["object"]["metadata"]
    assert bookmark["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert int(bookmark["resourceVersion"]) >= int(created["metadata"]["resourceVersion"])


async def test_watch_from_expired_resource_version_is_410_gone(make_pipelinerun: Factory) -> None:
    # Emulator only: its history is as long as it is told (the real server's watch cache
    # keeps what it keeps; see docs/testing.md).
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


async def test_cross_namespace_watch_with_field_selector(api: Api) -> None:
    other = await api.create_namespace()
    target = unique("target")
    path = api.all_namespaces("pipelineruns")
    async with _open_watch(api.client, path, fieldSelector=f"metadata.name={target}") as stream:
        await api.create(api.prs, api.pipelinerun("decoy"))
        await api.create(api.path("pipelineruns", other), api.pipelinerun(target, other))
        event = await stream.next()
        assert (event["type"], event["object"]["metadata"]["namespace"]) == ("ADDED", other)


async def test_send_initial_events_ends_with_a_bookmark(api: Api) -> None:
    created = await api.create(api.prs, api.pipelinerun("x"))
    params = {
        "sendInitialEvents": "true",
        "resourceVersionMatch": "NotOlderThan",
        "allowWatchBookmarks": "true",
        # the state at this version or later: all of it, not the changes since
        "resourceVersion": created["metadata"]["resourceVersion"],
    }
    async with _open_watch(api.client, api.prs, **params) as stream:
        added = await stream.next()
        assert (added["type"], added["object"]) == ("ADDED", created)
        bookmark = await stream.next()
        assert bookmark["type"] == "BOOKMARK"
        metadata = bookmark["object"]["metadata"]
        assert metadata["annotations"] == {"k8s.io/initial-events-end": "true"}
        assert int(metadata["resourceVersion"]) >= int(created["metadata"]["resourceVersion"])


async def test_watch_without_initial_events_starts_at_the_present(api: Api) -> None:
    await api.create(api.prs, api.pipelinerun("before"))
    params = {"sendInitialEvents": "false", "resourceVersionMatch": "NotOlderThan"}
    async with _open_watch(api.client, api.prs, **params) as stream:
        await api.create(api.prs, api.pipelinerun("after"))
        event = await stream.next()
        assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "after")


async def test_quiet_watch_with_bookmarks_allowed_gets_bookmarks_at_the_latest_version(
    make_pipelinerun: Factory,
) -> None:
    # Emulator only: the real server sends these about once a minute.
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
