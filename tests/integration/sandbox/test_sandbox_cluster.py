"""`kubernaut-wfe sandbox --api cluster`: the stack on the real API server (the test cluster), the
controller on its ServiceAccount, the admin's kubeconfig for people; stopped with the sandbox."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from kubernaut_wfe.adapters.kube_connection import KubeConnection
from kubernaut_wfe.adapters.kubeconfig import load_kubeconfig
from kubernaut_wfe.constants import API_VERSION, PLURAL
from kubernaut_wfe_tools.commands import sandbox as command
from kubernaut_wfe_tools.testing.testcluster import CONTROLLER_USER, TestCluster

from .state import wait_for_state  # noqa: TID252

NOT_BUILT_LINE = (
    "kubernaut-wfe sandbox: --api cluster needs the real API server, which is not built: run "
    "`make test-cluster-build` (Go is needed: install Go 1.26 or newer, see docs/testing.md)\n"
)

pytestmark = pytest.mark.timeout(180)


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    command.configure(parser)
    return parser.parse_args(argv)


def _sandbox_command(state_dir: Path, *args: str) -> list[str]:
    return [
        sys.executable, "-m", "kubernaut_wfe_tools.commands.sandbox",
        "--state-dir", str(state_dir), *args,
    ]  # fmt: skip


def test_without_the_binaries_it_exits_2_saying_how_to_build_them(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    empty_cache = tmp_path / "cache"
    empty_cache.mkdir()

    result = subprocess.run(
        _sandbox_command(state_dir, "--api", "cluster", "--no-apply"),
        env={**os.environ, "XDG_CACHE_HOME": str(empty_cache)},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert result.returncode == 2
    assert result.stderr == NOT_BUILT_LINE
    assert not state_dir.exists(), "nothing starts"


def test_an_api_port_is_refused_on_the_real_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = command.run(
        _args("--state-dir", str(tmp_path / "s"), "--api", "cluster", "--api-port", "8080")
    )

    assert code == 2
    assert "--api-port applies to --api emulator only" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


@pytest.mark.usefixtures("cluster_binaries")
def test_a_foreign_cluster_directory_in_the_state_dir_is_never_used(tmp_path: Path) -> None:
    (tmp_path / "cluster").mkdir()
    (tmp_path / "cluster" / "notes.txt").write_text("kept", encoding="utf-8")

    result = subprocess.run(
        _sandbox_command(tmp_path, "--api", "cluster", "--no-apply"),
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert result.returncode == 1
    assert f"{tmp_path.resolve() / 'cluster'} exists and is not a sandbox's" in result.stderr
    assert (tmp_path / "cluster" / "notes.txt").read_text(encoding="utf-8") == "kept"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (ProcessLookupError, OSError):
        return False
    return stat.split(")")[-1].split()[0] != "Z"  # a zombie has exited


@pytest.mark.usefixtures("cluster_binaries")
def test_on_the_real_server_the_admin_kubeconfig_works_and_sigterm_stops_everything(
    tmp_path: Path,
) -> None:
    state_dir = tmp_path / "state"
    process = subprocess.Popen(
        _sandbox_command(state_dir, "--api", "cluster", "--no-apply"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        state = wait_for_state(state_dir / "sandbox.json", process, within=150)
        cluster = TestCluster.attach(state_dir / "cluster")
        assert cluster is not None, "the control plane's files are under <state-dir>/cluster"
        cluster_pids = list(cluster.state.pids.values())
        assert state["api"] == "cluster"
        assert state["apiServer"] == cluster.url
        assert state["kubeconfig"] == str(state_dir.resolve() / "kubeconfig")

        admin_connection = KubeConnection.open(load_kubeconfig(str(state["kubeconfig"])))
        server, admin_tls = admin_connection.server, admin_connection.tls
        assert admin_tls is not None
        with httpx.Client(base_url=server, verify=admin_tls, timeout=30) as admin:
            listing = admin.get(f"/apis/{API_VERSION}/{PLURAL}")
        with httpx.Client(base_url=server, verify=cluster.tls(admin=False)) as anonymous:
            refused = anonymous.get(f"/apis/{API_VERSION}/{PLURAL}")
        kubectl = subprocess.run(
            [str(state_dir / "cluster" / "bin" / "kubectl"), "--kubeconfig",
             str(state["kubeconfig"]), "get", "namespace", "kubernaut-workflows", "-o", "name"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        controller_requests = cluster.audit_records(CONTROLLER_USER)

        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert listing.status_code == 200, listing.text
    assert refused.status_code in (401, 403)
    assert kubectl.stdout == "namespace/kubernaut-workflows\n", kubectl.stderr
    assert controller_requests, "the controller talks to the API as its ServiceAccount"
    assert process.returncode == 0, stderr
    assert "stopping: controller (SIGTERM), audit service, API server" in stderr
    assert not [pid for pid in cluster_pids if _alive(pid)]
    assert not (state_dir / "cluster").exists()
    assert not (state_dir / "sandbox.json").exists()
    assert not _alive(int(str(state["controllerPid"])))
