"""`python -m kubernaut_wfe_tools.testing.testcluster build|up|down|status` (the
`make test-cluster-*` targets): the binaries, and a cluster in `.testcluster/` that outlives the
command."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from kubernaut_wfe_tools.testing.testcluster.build import (
    INSTALL_GO,
    REPO_ROOT,
    BuildError,
    build,
    built,
)
from kubernaut_wfe_tools.testing.testcluster.cluster import (
    CONTROLLER_USER,
    ClusterError,
    TestCluster,
)

DEFAULT_ROOT = REPO_ROOT / ".testcluster"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kubernaut_wfe_tools.testing.testcluster")
    parser.add_argument("action", choices=["build", "up", "down", "status"])
    parser.add_argument(
        "--dir", type=Path, default=DEFAULT_ROOT, help="where the cluster's files live"
    )
    parser.add_argument(
        "--unless-no-go", action="store_true",
        help="build: without Go, say so and succeed (outside CI) so the real-server tests skip",
    )  # fmt: skip
    args = parser.parse_args(argv)
    try:
        if args.action == "build":
            lacking_go = built() is None and shutil.which("go") is None
            if args.unless_no_go and lacking_go and not os.environ.get("CI"):
                print(f"no `go` on PATH: the real-API-server tests will skip ({INSTALL_GO})",
                      file=sys.stderr)  # fmt: skip
                return 0
            print(build())
        elif args.action == "up":
            return _up(args.dir)
        elif args.action == "down":
            _down(args.dir)
        else:
            return _status(args.dir)
    except (BuildError, ClusterError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def _up(root: Path) -> int:
    if (running := TestCluster.attach(root)) is not None:
        print(f"a test cluster is already up in {root} ({running.url}): `make test-cluster-down`",
              file=sys.stderr)  # fmt: skip
        return 1
    binaries = built()
    if binaries is None:
        print("error: the binaries are not built: `make test-cluster-build` first", file=sys.stderr)
        return 1
    cluster = TestCluster(root, binaries)
    cluster.start(detach=True)
    print(f"test cluster up at {cluster.url}")
    print(f"  kubectl:        export PATH={root / 'bin'}:$PATH (kubectl of the server's release)")
    print(f"  cluster-admin:  export KUBECONFIG={cluster.admin_kubeconfig}")
    print(f"  the controller: {cluster.controller_kubeconfig} ({CONTROLLER_USER})")
    print(f"  audit log:      {cluster.audit_log}")
    print(f"  logs:           {root / 'logs'}/")
    return 0


def _down(root: Path) -> None:
    cluster = TestCluster.attach(root)
    if cluster is None:
        print(f"no test cluster in {root}")
        return
    cluster.stop()
    print(f"test cluster in {root} stopped and its data removed")


def _status(root: Path) -> int:
    cluster = TestCluster.attach(root)
    if cluster is None:
        print(f"no test cluster in {root}")
        return 1
    print(cluster.kubectl("version").rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
