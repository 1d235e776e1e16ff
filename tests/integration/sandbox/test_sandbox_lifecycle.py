"""The sandbox as a long-running process: ready state file, SIGTERM stops everything in order."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from kubernaut_wfe.constants import API_VERSION, PLURAL, Phase

from .state import wait_for_state  # noqa: TID252

REPO_ROOT = Path(__file__).resolve().parents[3]
HELLO = REPO_ROOT / "examples" / "hello-world.yaml"

pytestmark = pytest.mark.timeout(120)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_sigterm_stops_the_controller_and_prints_the_json_document(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    process = subprocess.Popen(
        [
            sys.executable, "-m", "kubernaut_wfe_tools.commands.sandbox",
            "--state-dir", str(state_dir),
            "--apply", str(HELLO), "--output", "json",
        ],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        state = wait_for_state(state_dir / "sandbox.json", process)
        controller_pid = int(str(state["controllerPid"]))
        assert _alive(controller_pid)
        with httpx.Client(base_url=str(state["apiServer"]), timeout=30) as kube:
            listing = kube.get(f"/apis/{API_VERSION}/{PLURAL}").json()
        assert [item["metadata"]["name"] for item in listing["items"]] == ["hello-world"]

        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 0, stderr
    assert not _alive(controller_pid)
    assert "stopped (the controller exited with code 0)" in stderr
    assert not (state_dir / "sandbox.json").exists()
    document = json.loads(stdout)
    (wfe,) = document["workflowExecutions"]
    assert wfe["metadata"]["name"] == "hello-world"
    assert wfe["status"].get("phase", "") in {"", *(p.value for p in Phase)}


def test_a_controller_that_cannot_start_fails_the_sandbox_with_its_log(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable, "-m", "kubernaut_wfe_tools.commands.sandbox",
            "--state-dir", str(tmp_path),
            "--no-apply", "--cooldown-period", "bogus",
        ],
        capture_output=True, text=True, timeout=90, check=False,
    )  # fmt: skip

    assert result.returncode == 1
    assert "the controller exited with code 2" in result.stderr
    assert 'invalid duration "bogus"' in result.stderr
    assert not (tmp_path / "sandbox.json").exists()
