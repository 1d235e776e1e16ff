"""Fixtures every integration suite may use: the real API server (the test cluster)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubernaut_wfe_tools.node_simulator.runtime import runtime_available
from kubernaut_wfe_tools.testing.targets import target_kind
from kubernaut_wfe_tools.testing.testcluster import TestCluster, built, running_cluster
from kubernaut_wfe_tools.testing.testcluster.build import not_built_reason


@pytest.fixture(scope="session")
def cluster_binaries() -> Path:
    """kube-apiserver, kube-controller-manager, kubectl and etcd, as `make test-cluster-build`
    built them (`make test` builds them first). Not built: the real-server tests skip, saying
    what to do, except in CI, where they fail."""
    found = built()
    if found is not None:
        return found
    if os.environ.get("CI"):
        pytest.fail(not_built_reason())
    pytest.skip(not_built_reason())


@pytest.fixture(scope="session")
def cluster(
    cluster_binaries: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestCluster]:
    """One real control plane for the whole session, on free ports."""
    with running_cluster(tmp_path_factory.mktemp("testcluster"), cluster_binaries) as started:
        yield started


@pytest.fixture(scope="module")
def own_cluster(
    cluster_binaries: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestCluster]:
    """A control plane of the module's own, for tests that install or remove cluster-wide
    objects (the chart, the CRD)."""
    with running_cluster(tmp_path_factory.mktemp("own-cluster"), cluster_binaries) as started:
        yield started


@pytest.fixture(scope="session")
def container_runtime() -> None:
    """The node stand-in's container runtime can run here (root, iproute2, network namespaces);
    otherwise the test skips, saying why, except in CI (`CI` set), where that fails."""
    reason = runtime_available()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"the node stand-in cannot run containers here: {reason}")
    pytest.skip(f"the node stand-in cannot run containers here: {reason}")


@pytest.fixture
def api_cluster(request: pytest.FixtureRequest) -> TestCluster | None:
    """The real API server the controller's suites run on (the session's), or None when
    `INTEGRATION_TARGET=emulator` puts them on a fresh emulator per test."""
    if target_kind() == "emulator":
        return None
    found: TestCluster = request.getfixturevalue("cluster")
    return found
