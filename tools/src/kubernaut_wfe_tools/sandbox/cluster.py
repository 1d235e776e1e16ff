"""`kubernaut-wfe sandbox --api cluster`: a real control plane (the test cluster: kube-apiserver,
etcd and kube-controller-manager built by `make test-cluster-build`) in place of the emulator."""

from __future__ import annotations

from pathlib import Path

from kubernaut_wfe_tools.testing.testcluster import BuildError, built
from kubernaut_wfe_tools.testing.testcluster.build import INSTALL_GO

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
