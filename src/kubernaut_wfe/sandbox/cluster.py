"""`kubernaut-wfe sandbox --api cluster`: a real control plane (the test cluster: kube-apiserver,
etcd and kube-controller-manager built by `make test-cluster-build`) in place of the emulator."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator
from pathlib import Path

from kubernaut_wfe.testing.testcluster import BuildError, ClusterError, TestCluster, built
from kubernaut_wfe.testing.testcluster.build import INSTALL_GO

NOT_BUILT = (
    "--api cluster needs the real API server, which is not built: run `make test-cluster-build` "
    f"(Go is needed: {INSTALL_GO})"
)


def find_binaries() -> Path | None:
    """The directory of the test cluster's binaries, or None when they are not built (or this is
    not a checkout, where `tools/testcluster/` is missing)."""
    try:
        return built()
    except (OSError, BuildError):
        return None


@contextlib.asynccontextmanager
async def running_cluster(root: Path, binaries: Path) -> AsyncIterator[TestCluster]:
    """A control plane under `root`, started and (on exit) stopped with its files removed.

    One thread of its own starts it, waits and stops it: the cluster's processes get SIGTERM when
    the thread that started them ends (PR_SET_PDEATHSIG), so a pool thread must not start them,
    and a sandbox killed outright leaves no control plane behind. A failed start raises
    `ClusterError` (the cluster's files are kept for its logs).
    """
    cluster = TestCluster(root, binaries)
    started = threading.Event()
    release = threading.Event()
    failures: list[BaseException] = []

    def own() -> None:
        try:
            cluster.start()
        except BaseException as error:  # reported to the event loop, which raises it
            failures.append(error)
            return
        finally:
            started.set()
        release.wait()
        cluster.stop()

    owner = threading.Thread(target=own, name="sandbox-cluster", daemon=True)
    owner.start()
    try:
        await asyncio.to_thread(started.wait)
        if failures:
            (failure,) = failures
            if isinstance(failure, ClusterError):
                raise failure
            raise ClusterError(f"{type(failure).__name__}: {failure}") from failure
        yield cluster
    finally:
        release.set()
        await asyncio.to_thread(owner.join)
