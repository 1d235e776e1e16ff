"""Fixtures for the container runtime: a check that this machine can run it, and sandboxes
that are destroyed after each test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path

import pytest

from kubernaut_wfe_tools.node_simulator.runtime import PodSandbox

MakeSandbox = Callable[..., Awaitable[PodSandbox]]


@pytest.fixture
async def make_sandbox(container_runtime: None, tmp_path: Path) -> AsyncIterator[MakeSandbox]:
    """`await make_sandbox(service_ips=...)`: a fresh pod sandbox, destroyed after the test."""
    made: list[PodSandbox] = []

    async def make(service_ips: Sequence[str] = ()) -> PodSandbox:
        pod_uid = str(uuid.uuid4())
        sandbox = await PodSandbox.create(
            pod_uid, state_dir=tmp_path / "pods" / pod_uid, service_ips=service_ips
        )
        made.append(sandbox)
        return sandbox

    yield make
    for sandbox in made:
        await sandbox.destroy()
