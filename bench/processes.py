"""Child processes of the benchmarks (audit service, controller) and their /proc figures."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from kubernaut_wfe_tools.processes import ControllerProcess, stop_process

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
STOP_TIMEOUT = 20.0
PROFILER_GRACE = 300.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    text = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    fields = text[text.rindex(")") + 2 :].split()
    # fields[0] is the state (field 3 of stat); utime and stime are fields 14 and 15
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


@contextlib.asynccontextmanager
async def audit_server(database_url: str) -> AsyncIterator[str]:
    """`kubernaut-wfe audit-server` as a child process on a free port; yields its URL."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kubernaut_wfe", "audit-server",
        "--listen", "127.0.0.1:0", "--database", database_url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        if "listening on " not in line:
            raise RuntimeError(f"the audit service did not start: {line!r}")
        yield line.split("listening on ", 1)[1].split()[0]
    finally:
        await stop_process(process, STOP_TIMEOUT)


@contextlib.asynccontextmanager
async def controller(
    python: str,
    kubeconfig: Path,
    audit_url: str,
    log_path: Path,
    *,
    cooldown: str,
    wrapper: tuple[str, ...] = (),
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`kubernaut-wfe run` as a child process with `python` (optionally under `wrapper`, e.g.
    pyinstrument, which needs time to write its report at exit); stopped with SIGTERM."""
    child = ControllerProcess(
        [
            "--kubeconfig", str(kubeconfig),
            "--datastorage-url", audit_url,
            "--cooldown-period", cooldown,
            "--metrics-bind-address", "127.0.0.1:0",
            "--health-probe-bind-address", "127.0.0.1:0",
            "--log-format", "json",
        ],
        log_path,
        interpreter=(python, *wrapper),
    )  # fmt: skip
    await child.start()
    assert child.process is not None
    try:
        yield child.process
    finally:
        await child.stop(timeout=PROFILER_GRACE if wrapper else STOP_TIMEOUT)
