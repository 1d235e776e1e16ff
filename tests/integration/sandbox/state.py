"""Waiting for a sandbox started as a process to say it is up."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest


def wait_for_state(
    path: Path, process: subprocess.Popen[str], within: float = 90.0
) -> dict[str, object]:
    """The sandbox's state file once written (`within` seconds at the most); fails at once if the
    sandbox exits first, with what it wrote on stderr."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1]
        if path.exists():
            state: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
            return state
        time.sleep(0.1)  # waiting for another process to write its file
    pytest.fail("the sandbox never wrote its state file")
