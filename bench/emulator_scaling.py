"""Per-request cost of the API emulator at 100 vs 2,000 stored objects (prints a table).

Run: .venv/bin/python bench/emulator_scaling.py
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from kubernaut_wfe_tools.emulator import ApiEmulator

PR_PATH = "/apis/tekton.dev/v1/namespaces/default/pipelineruns"
MERGE = {"Content-Type": "application/merge-patch+json"}


def _pipelinerun(index: int) -> dict[str, Any]:
    return {
        "apiVersion": "tekton.dev/v1",
        "kind": "PipelineRun",
        "metadata": {"name": f"pr-{index:05d}", "labels": {"shard": str(index % 50)}},
        "spec": {"pipelineRef": {"resolver": "bundles", "params": []}},
    }


async def _timed(count: int, call: Callable[[int], Awaitable[httpx.Response]]) -> float:
    began = time.perf_counter()
    for index in range(count):
        response = await call(index)
        response.raise_for_status()
    return (time.perf_counter() - began) / count * 1000


async def measure(objects: int) -> dict[str, float]:
    """Milliseconds per request of each kind with `objects` PipelineRuns stored."""
    emu = ApiEmulator()
    async with emu.serving(), httpx.AsyncClient(base_url=emu.url) as client:
        began = time.perf_counter()
        for index in range(objects):
            (await client.post(PR_PATH, json=_pipelinerun(index))).raise_for_status()
        total = time.perf_counter() - began
        return {
            "create": total / objects * 1000,
            "get": await _timed(200, lambda i: client.get(f"{PR_PATH}/pr-{i % objects:05d}")),
            "patch": await _timed(
                200,
                lambda i: client.patch(
                    f"{PR_PATH}/pr-{i % objects:05d}",
                    json={"metadata": {"annotations": {"n": str(i)}}},
                    headers=MERGE,
                ),
            ),
            "list(label)": await _timed(
                50, lambda i: client.get(PR_PATH, params={"labelSelector": f"shard={i}"})
            ),
            "list(page 100)": await _timed(
                20, lambda i: client.get(PR_PATH, params={"limit": "100"})
            ),
            "fill total s": total,
        }


async def main() -> None:
    """Print the figures for 100 and 2,000 objects."""
    small, large = await measure(100), await measure(2_000)
    print(f"{'request':<16}{'100 objects':>14}{'2000 objects':>14}")
    for key in small:
        unit = "" if key.endswith(" s") else " ms"
        print(f"{key:<16}{small[key]:>11.2f}{unit:3}{large[key]:>11.2f}{unit:3}")


if __name__ == "__main__":
    asyncio.run(main())
