"""`make test-install`: the chart installed on a test cluster of the module's own, its
controller pod run by the node stand-in as a local process (network namespace, private mounts,
memory cgroup: root and iproute2 needed; outside CI their absence skips, in CI it fails)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from kubernaut_wfe_tools.testing.install import Installation, installation
from kubernaut_wfe_tools.testing.testcluster import TestCluster


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def installed(
    container_runtime: None, own_cluster: TestCluster, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Installation]:
    async with installation(own_cluster, tmp_path_factory.mktemp("install")) as started:
        yield started


@pytest.fixture
def chart_file(tmp_path: Path) -> Path:
    return tmp_path / "chart.yaml"
