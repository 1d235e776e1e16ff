"""The settings corpus (`tests/corpus/settings.yaml`): `kubernaut-wfe run` started with each
hostile setting stops at once, before it talks to any API server, with the case's exit code and
a short error naming the setting, never a traceback. The cases run a few processes at a time."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from kubernaut_wfe_tools.testing.corpus import SettingsCase, settings_cases

pytestmark = pytest.mark.timeout(600)
CASES = settings_cases()
AT_ONCE = 4
LONGEST_LINE = 500
"""An error line a person reads whole: a hostile value must not be echoed back at length."""
_ENVIRONMENT_SETTINGS = ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "POD_NAMESPACE")


async def start(case: SettingsCase, directory: Path) -> tuple[int | None, str]:
    """Run the command of `case` in `directory` (also its home, so no ~/.kube/config is found);
    its exit code (None when it did not stop within a minute) and its output."""
    environment = {
        name: value for name, value in os.environ.items() if name not in _ENVIRONMENT_SETTINGS
    }
    environment["HOME"] = str(directory)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kubernaut_wfe", "run", *case.arguments(directory),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=environment,
    )  # fmt: skip
    try:
        output, _ = await asyncio.wait_for(process.communicate(), 60)
    except TimeoutError:
        process.kill()
        output, _ = await process.communicate()
        return None, output.decode(errors="replace")
    return process.returncode, output.decode(errors="replace")


def error_lines(output: str) -> list[str]:
    """The output without argparse's usage (its `usage:` line and the indented lines after)."""
    lines: list[str] = []
    in_usage = False
    for line in output.splitlines():
        in_usage = line.startswith("usage:") or (in_usage and line.startswith(" "))
        if not in_usage:
            lines.append(line)
    return lines


def mismatches(case: SettingsCase, directory: Path, code: int | None, output: str) -> list[str]:
    """How the outcome differs from the case's (nothing when it is the case's)."""
    found = []
    if code != case.exits:
        found.append(f"exits {code}, not {case.exits}")
    if "Traceback" in output:
        found.append("prints a traceback")
    lines = error_lines(output)
    if not 1 <= len(lines) <= 2:
        found.append(f"prints {len(lines)} lines, not the error and at most a heading")
    if not any(case.expected(directory) in line for line in lines):
        found.append(f"no line says {case.expected(directory)!r}")
    if any(len(line) > LONGEST_LINE for line in lines):
        found.append(f"prints a line of more than {LONGEST_LINE} characters")
    if found:
        found.append(f"the output was:\n{output[-3000:]}")
    return found


async def test_every_setting_gets_its_outcome(tmp_path: Path) -> None:
    gate = asyncio.Semaphore(AT_ONCE)

    async def check(case: SettingsCase) -> list[str]:
        directory = tmp_path / case.name
        directory.mkdir()
        async with gate:
            code, output = await start(case, directory)
        return [f"{case.name}: {found}" for found in mismatches(case, directory, code, output)]

    results = await asyncio.gather(*(check(case) for case in CASES))
    failures = [failure for result in results for failure in result]
    assert failures == [], "\n".join(failures)
