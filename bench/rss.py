"""Scenario 3: steady-state memory of the controller installed with its runtime dependencies
only (a separate venv, non-editable), over 1,000 and 10,000 settled WFEs."""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from bench import harness, objects, processes
from kubernaut_wfe_tools.processes import rss_mib
from kubernaut_wfe_tools.testing.runtime_install import ensure_runtime_install

SAMPLES = 10
SAMPLE_INTERVAL = 0.3
IDLE_CPU_SHARE = 0.05


def ensure_runtime_venv() -> Path:
    """The python of the runtime install (requirements/runtime.txt + the product's wheel)."""
    return ensure_runtime_install().python


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
                samples.append(rss_mib(process.pid))
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
