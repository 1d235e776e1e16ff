"""An API emulator serving the Tekton CRDs, with the execution namespace, and a client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from kubernaut_wfe_tools.emulator import ApiEmulator
from kubernaut_wfe_tools.tekton_simulator import Pacing
from kubernaut_wfe_tools.tekton_simulator.samples import SAMPLE_NAMESPACE

FAST = Pacing(resolution=timedelta(0), pod_start=timedelta(0), cancellation=timedelta(0))

WaitFor = Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]


@pytest.fixture
def fast_pacing() -> Pacing:
    return FAST


@pytest.fixture
async def emulator() -> AsyncIterator[ApiEmulator]:
    emulator = ApiEmulator()
    async with emulator.serving(host="127.0.0.1", port=0):
        async with httpx.AsyncClient(base_url=emulator.url) as client:
            namespace = {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": SAMPLE_NAMESPACE},
            }
            (await client.post("/api/v1/namespaces", json=namespace)).raise_for_status()
        yield emulator


@pytest.fixture
async def client(emulator: ApiEmulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=emulator.url) as client:
        yield client


@pytest.fixture
def wait_for() -> WaitFor:
    """Poll `probe` until it returns something truthy (pytest-timeout bounds the wait).

    The state waited for lives in the API server, written by another component: polling the
    API is the only signal a black-box test has.
    """

    async def wait(probe: Callable[[], Awaitable[Any]]) -> Any:
        while not (result := await probe()):  # noqa: ASYNC110 - see the docstring
            await asyncio.sleep(0.05)
        return result

    return wait
