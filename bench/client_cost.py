"""Client-side CPU per Kubernetes request, httpx vs aiohttp, against the emulator.

`python -m bench.client_cost` serves the emulator in this process and runs the clients in a
child process (`python -m bench.client_cost URL`) that measures its own CPU time per GET (a 404
of a PipelineRun, parsed as JSON), so the server's work is not counted.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import aiohttp
import httpx

from bench import harness

REQUESTS = 3000
WARM_UP = 100
PATH = "/apis/tekton.dev/v1/namespaces/kubernaut-workflows/pipelineruns/absent"


async def httpx_cost(url: str) -> float:
    """Milliseconds of CPU per request with one pooled httpx.AsyncClient."""
    async with httpx.AsyncClient(base_url=url, trust_env=False) as client:
        for _ in range(WARM_UP):
            await client.get(PATH)
        began = time.process_time()
        for _ in range(REQUESTS):
            (await client.get(PATH)).json()
        return (time.process_time() - began) / REQUESTS * 1000


async def aiohttp_cost(url: str) -> float:
    """Milliseconds of CPU per request with one aiohttp.ClientSession."""
    async with aiohttp.ClientSession(base_url=url) as session:
        for _ in range(WARM_UP):
            async with session.get(PATH) as response:
                await response.read()
        began = time.process_time()
        for _ in range(REQUESTS):
            async with session.get(PATH) as response:
                json.loads(await response.read())
        return (time.process_time() - began) / REQUESTS * 1000


async def measure(url: str) -> None:
    """Print both figures."""
    print(f"httpx   {await httpx_cost(url):.3f} ms CPU per request")
    print(f"aiohttp {await aiohttp_cost(url):.3f} ms CPU per request")


async def host() -> None:
    """Serve an emulator and run the measuring child against it."""
    async with harness.served_emulator() as emu:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.client_cost", emu.url
        )
        await child.wait()


if __name__ == "__main__":
    asyncio.run(measure(sys.argv[1]) if len(sys.argv) > 1 else host())
