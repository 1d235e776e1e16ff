"""The sandbox suites' gate for `--api cluster`: the real API server's binaries."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from kubernaut_wfe.sandbox.cluster import find_binaries
from kubernaut_wfe.testing.testcluster.build import INSTALL_GO


@pytest.fixture(scope="session")
def sandbox_cluster_binaries() -> Path:
    """The binaries `kubernaut-wfe sandbox --api cluster` runs. Not built: the test skips saying
    what to do, except in CI, where it fails."""
    found = find_binaries()
    if found is not None:
        return found
    if shutil.which("go") is None:
        message = f"the real API server cannot be built without Go: {INSTALL_GO}"
    else:
        message = "the real API server is not built: run `make test-cluster-build`"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
