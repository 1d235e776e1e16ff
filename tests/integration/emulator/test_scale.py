"""Scale behaviour (not timing): 2,000 objects, 50 selective watchers, each sees exactly its
own events; the figures are printed for the record."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from kubernaut_wfe_tools.emulator import ApiEmulator

PR_PATH = "/apis/tekton.dev/v1/namespaces/default/pipelineruns"
OBJECTS = 2_000
WATCHERS = 50
Factory = Callable[..., dict[str, Any]]


async def _watch(
    client: httpx.AsyncClient, shard: int, started: asyncio.Event, sink: list[str]
) -> None:
    params = {"watch": "true", "labelSelector": f"shard={shard}", "timeoutSeconds": "60"}
    async with client.stream("GET", PR_PATH, params=params) as response:
        started.set()
        async for line in response.aiter_lines():
            if not line:
                continue
            event = json.loads(line)
            assert event["type"] == "ADDED"
            assert event["object"]["metadata"]["labels"]["shard"] == str(shard)
            sink.append(event["object"]["metadata"]["name"])
            if len(sink) == OBJECTS // WATCHERS:
                return


async def test_two_thousand_objects_with_fifty_selective_watchers(
    make_pipelinerun: Factory,
) -> None:
    emu = ApiEmulator()
    limits = httpx.Limits(max_connections=WATCHERS + 20)
    async with (
        emu.serving(),
        httpx.AsyncClient(base_url=emu.url, limits=limits, timeout=60) as client,
    ):
        seen: list[list[str]] = [[] for _ in range(WATCHERS)]
        started = [asyncio.Event() for _ in range(WATCHERS)]
        watchers = [
            asyncio.create_task(_watch(client, shard, started[shard], seen[shard]))
            for shard in range(WATCHERS)
        ]
        await asyncio.wait_for(asyncio.gather(*(s.wait() for s in started)), 30)
        began = time.perf_counter()
        semaphore = asyncio.Semaphore(16)

        async def create(index: int) -> int:
            async with semaphore:
                body = make_pipelinerun(f"pr-{index:05d}", shard=str(index % WATCHERS))
                return (await client.post(PR_PATH, json=body)).status_code

        statuses = await asyncio.gather(*(create(i) for i in range(OBJECTS)))
        created_in = time.perf_counter() - began
        assert set(statuses) == {201}
        await asyncio.wait_for(asyncio.gather(*watchers), 60)
        for shard, names in enumerate(seen):
            expected = {f"pr-{i:05d}" for i in range(shard, OBJECTS, WATCHERS)}
            assert len(names) == len(expected)
            assert set(names) == expected
        began = time.perf_counter()
        listing = (await client.get(PR_PATH)).json()
        listed_in = time.perf_counter() - began
        assert len(listing["items"]) == OBJECTS
        selected = (await client.get(PR_PATH, params={"labelSelector": "shard=7"})).json()
        assert len(selected["items"]) == OBJECTS // WATCHERS
        print(
            f"\n{OBJECTS} creates with {WATCHERS} watchers: {created_in:.2f}s "
            f"({created_in / OBJECTS * 1000:.2f} ms/create); full list {listed_in * 1000:.0f} ms"
        )
