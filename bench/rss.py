"""Scenario 3: steady-state memory of the controller installed with its runtime dependencies
only (a separate venv, non-editable), over 1,000 and 10,000 settled WFEs."""

from __future__ import annotations

import asyncio
import hashlib
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from bench import harness, objects, processes
from bench.stats import REPO_ROOT

RUNTIME_VENV = REPO_ROOT / "bench" / ".venv-runtime"
STAMP = RUNTIME_VENV / ".bench-stamp"
SAMPLES = 10
SAMPLE_INTERVAL = 0.3
IDLE_CPU_SHARE = 0.05


def _source_digest() -> str:
    digest = hashlib.sha256()
    sources = [REPO_ROOT / "requirements" / "runtime.txt", REPO_ROOT / "pyproject.toml"]
    sources += sorted(
        path
        for path in (REPO_ROOT / "src").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    )
    for path in sources:
        digest.update(str(path.relative_to(REPO_ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_runtime_venv() -> Path:
    """The runtime venv's python: created from requirements/runtime.txt + `pip install --no-deps .`
    (non-editable), re-used while the lock file and the sources are unchanged."""
    python = RUNTIME_VENV / "bin" / "python"
    digest = _source_digest()
    if python.exists() and STAMP.exists() and STAMP.read_text(encoding="utf-8") == digest:
        return python
    quiet = ["--quiet", "--disable-pip-version-check"]
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(RUNTIME_VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", *quiet]
    requirements = str(REPO_ROOT / "requirements" / "runtime.txt")
    subprocess.run([*pip, "-r", requirements], check=True, capture_output=True)
    subprocess.run(
        [*pip, "--no-deps", "--force-reinstall", str(REPO_ROOT)], check=True, capture_output=True
    )
    STAMP.write_text(digest, encoding="utf-8")
    return python


async def _settle(pid: int) -> None:
    """Wait until the controller idles: under 5 % of a core over a second."""
    previous = processes.cpu_seconds(pid)
    for _ in range(300):
        await asyncio.sleep(1.0)
        current = processes.cpu_seconds(pid)
        if current - previous < IDLE_CPU_SHARE:
            return
        previous = current
    raise harness.BenchTimeoutError("the controller never went idle")


async def steady_rss(
    python: Path, count: int, workdir: Path, wrapper: tuple[str, ...] = ()
) -> dict[str, Any]:
    """RSS (MiB) of a controller that has taken in `count` settled WFEs and gone idle (run under
    `wrapper`, e.g. a profiler, when given)."""
    ended = datetime.now(UTC) - timedelta(hours=1)
    async with (
        harness.served_emulator() as emu,
        processes.audit_server(f"sqlite:///{workdir / f'audit-rss-{count}.db'}") as audit_url,
    ):
        emu.seed([objects.settled_wfe(index, ended) for index in range(count)], validate=False)
        kubeconfig = emu.write_kubeconfig(workdir / "kubeconfig")
        log = workdir / f"controller-rss-{count}.log"
        began = time.perf_counter()
        async with processes.controller(
            str(python), kubeconfig, audit_url, log, cooldown="5m", wrapper=wrapper
        ) as process:
            await harness.wait_for_controller(partial(harness.watching, emu), process, log)
            await _settle(process.pid)
            settled_after = time.perf_counter() - began
            samples = []
            for _ in range(SAMPLES):
                samples.append(processes.rss_mib(process.pid))
                await asyncio.sleep(SAMPLE_INTERVAL)
            requests = harness.counted_requests(emu.request_log, harness.is_controller)
    return {
        "wfes": count,
        "rss_mib": statistics.median(samples),
        "rss_samples_mib": [round(sample, 2) for sample in samples],
        "settled_after_seconds": settled_after,
        "requests_per_wfe": sum(requests.values()) / count,
        "requests": dict(sorted(requests.items())),
    }
