"""The product as the image installs it (requirements/runtime.txt, then the root's wheel without
dependencies; the Dockerfile's builder stage): the wheel holds the product's package and nothing
of the development tools, and every command the installed CLI offers starts there."""

from __future__ import annotations

import http.server
import re
import socket
import subprocess
import threading
import time
import zipfile
from pathlib import Path

import httpx
import pytest

from kubernaut_wfe_tools.testing.runtime_install import RuntimeInstall, ensure_runtime_install

from .conftest import REPO_ROOT  # noqa: TID252

PRODUCT_SOURCE = REPO_ROOT / "src" / "kubernaut_wfe"
PRODUCT_COMMANDS = {"run", "render", "audit-server"}
TOOL_COMMANDS = {"sandbox", "emulator", "tekton-simulator", "validate"}
START_TIMEOUT = 60.0


@pytest.fixture(scope="module")
def install() -> RuntimeInstall:
    return ensure_runtime_install()


def _cli(install: RuntimeInstall, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(install.command), *argv],
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
        check=False,
        cwd=REPO_ROOT,
    )


def _no_crash(done: subprocess.CompletedProcess[str]) -> None:
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    assert "ModuleNotFoundError" not in output, output


def test_the_wheel_holds_exactly_the_product_package(install: RuntimeInstall) -> None:
    names = zipfile.ZipFile(install.wheel).namelist()
    packaged = {name for name in names if not name.split("/")[0].endswith(".dist-info")}
    source = {
        "kubernaut_wfe/" + str(path.relative_to(PRODUCT_SOURCE))
        for path in PRODUCT_SOURCE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert packaged == source
    assert not [name for name in names if name.startswith("kubernaut_wfe_tools")]
    entry_points = next(name for name in names if name.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(install.wheel).read(entry_points).decode()
    assert "kubernaut-wfe = kubernaut_wfe.cli:main" in text
    assert "kubernaut_wfe.commands" not in text, "the product adds no command plugins"


def test_the_runtime_lock_has_none_of_the_tools_dependencies(install: RuntimeInstall) -> None:
    for module in ("kubernaut_wfe_tools", "kmock", "celpy", "jsonschema", "pytest"):
        done = subprocess.run(
            [str(install.python), "-c", f"import {module}"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode != 0, f"{module} is importable in the runtime install"


def test_the_cli_offers_the_product_commands_only(install: RuntimeInstall) -> None:
    done = _cli(install, "--help")
    assert done.returncode == 0, done.stderr
    offered = set(re.findall(r"^    ([a-z][a-z-]+)\s", done.stdout, flags=re.MULTILINE))
    assert offered == PRODUCT_COMMANDS
    for tool in sorted(TOOL_COMMANDS):
        refused = _cli(install, tool, "--help")
        assert refused.returncode == 2
        assert "invalid choice" in refused.stderr


def test_render_prints_the_pipelinerun(install: RuntimeInstall) -> None:
    done = _cli(install, "render", "-f", "examples/hello-world.yaml")
    _no_crash(done)
    assert done.returncode == 0, done.stderr
    assert "kind: PipelineRun" in done.stdout


class _NotKubernetes(http.server.BaseHTTPRequestHandler):
    """A web server that is not a Kubernetes API server: 404 to everything."""

    def do_GET(self) -> None:
        self.send_error(404)

    def log_message(self, *_: object) -> None:
        pass


def test_run_starts_and_says_why_it_cannot_use_the_api_server(
    install: RuntimeInstall, tmp_path: Path
) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotKubernetes)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        f"""apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "http://127.0.0.1:{server.server_address[1]}"}}}}]
users: [{{name: u, user: {{token: t}}}}]
contexts: [{{name: x, context: {{cluster: c, user: u, namespace: default}}}}]
current-context: x
"""
    )
    try:
        done = _cli(
            install,
            "run",
            "--kubeconfig",
            str(kubeconfig),
            "--metrics-bind-address",
            "127.0.0.1:0",
            "--health-probe-bind-address",
            "127.0.0.1:0",
        )
    finally:
        server.shutdown()
        server.server_close()
    _no_crash(done)
    assert done.returncode == 2, done.stderr
    assert "clusters[c].cluster.server: the API server" in done.stderr
    assert "is not a Kubernetes API server" in done.stderr


def test_audit_server_serves(install: RuntimeInstall, tmp_path: Path) -> None:
    port = _closed_port()
    process = subprocess.Popen(
        [
            str(install.command),
            "audit-server",
            "--listen",
            f"127.0.0.1:{port}",
            "--database",
            f"sqlite:///{tmp_path / 'audit.db'}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert _ready(f"http://127.0.0.1:{port}/health/ready", process), "audit-server not ready"
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=START_TIMEOUT)
    assert "Traceback" not in output, output


def test_every_offered_command_has_a_start_check_here() -> None:
    checked = {"render", "run", "audit-server"}
    assert checked == PRODUCT_COMMANDS


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _ready(url: str, process: subprocess.Popen[str]) -> bool:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    return False
