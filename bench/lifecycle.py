"""Scenarios 1 and 2: the create burst (controller vs the raw-HTTP floor) and the completion
mirror, plus the controller's CPU seconds per full WFE lifecycle, over a real controller process
against the in-process emulator."""

from __future__ import annotations

import asyncio
import copy
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import harness, objects, processes
from bench.recorder import TimedWatch
from bench.stats import percentile
from kubernaut_wfe.constants import Label
from kubernaut_wfe.emulator import ApiEmulator
from kubernaut_wfe.emulator.admission import WriteOptions
from kubernaut_wfe.emulator.faults import RequestRecord
from kubernaut_wfe.processes import stop_process

WORKERS = 8
"""The controller's reconcile workers (its default); the floor runs as many."""
COOLDOWN = "1s"
WRITE_CHUNK = 50
QUIET = 1.0


def latencies(starts: dict[str, float], ends: dict[str, float]) -> list[float]:
    """Seconds from each name's start to its end (names present in both)."""
    return [ends[name] - starts[name] for name in starts if name in ends]


def burst_figures(
    wfe_watch: TimedWatch,
    run_watch: TimedWatch,
    count: int,
    records: list[RequestRecord],
    sender: Callable[[RequestRecord], bool],
) -> dict[str, Any]:
    """p50/p99 of creation → Running, the makespan, and requests per WFE: those each WFE needed
    to reach Running (`requests_per_wfe`, the target) and all until the API went quiet
    (`requests_per_wfe_until_quiet`: with the audit bookkeeping write that follows Running)."""
    running = wfe_watch.reached("Running")
    samples = latencies(wfe_watch.added, running)
    to_running = harness.counted_until(records, sender, running, run_watch.owners)
    until_quiet = harness.counted_requests(records, sender)
    return {
        "wfes": count,
        "p50_seconds": percentile(samples, 0.50),
        "p99_seconds": percentile(samples, 0.99),
        "makespan_seconds": max(running.values()) - min(wfe_watch.added.values()),
        "runs_created": len(run_watch.added),
        "requests_per_wfe": sum(to_running.values()) / count,
        "requests": dict(sorted(to_running.items())),
        "requests_per_wfe_until_quiet": sum(until_quiet.values()) / count,
        "requests_until_quiet": dict(sorted(until_quiet.items())),
        "latency_samples": [round(s, 5) for s in samples],
    }


async def _burst(emu: ApiEmulator, count: int) -> tuple[TimedWatch, TimedWatch]:
    """Create `count` WFEs at once; return once every one is Running with its run created."""
    wfe_watch = TimedWatch(emu, "workflowexecutions").attach()
    run_watch = TimedWatch(emu, "pipelineruns", Label.WORKFLOW_EXECUTION.value).attach()
    emu.seed([objects.wfe(index) for index in range(count)])
    await harness.wait_until(
        lambda: len(wfe_watch.reached("Running")) >= count and len(run_watch.added) >= count,
        f"{count} WFEs Running",
    )
    return wfe_watch, run_watch


async def floor_burst(count: int) -> dict[str, Any]:
    """The create burst served by the raw-HTTP floor script, on a fresh emulator."""
    async with harness.served_emulator() as emu:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.floor", emu.url, str(count), str(WORKERS),
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            await harness.wait_until(
                lambda: harness.watching(emu, harness.CONTROLLER_WATCHES[:1]), "the floor"
            )
            mark = len(emu.request_log)
            wfe_watch, run_watch = await _burst(emu, count)
            await harness.wait_quiet(emu, QUIET)
            records = harness.records_from(emu, mark)
            wfe_watch.detach()
            run_watch.detach()
            return burst_figures(wfe_watch, run_watch, count, records, lambda _: True)
        finally:
            await stop_process(process, processes.STOP_TIMEOUT)


async def _complete_in_chunks(emu: ApiEmulator) -> dict[str, float]:
    """The completion burst, yielding to the loop every few writes so the server keeps serving."""
    written: dict[str, float] = {}
    runs = emu.objects("pipelineruns", objects.EXECUTION_NAMESPACE)
    resource = emu.resource("pipelineruns")
    status = objects.succeeded_status()
    for start in range(0, len(runs), WRITE_CHUNK):
        for run in runs[start : start + WRITE_CHUNK]:
            meta = run["metadata"]
            body = {**copy.deepcopy(run), "status": status}
            emu.lifecycle.update(
                resource, meta["namespace"], meta["name"], body,
                subresource="status", options=WriteOptions(),
            )  # fmt: skip
            written[meta["labels"][Label.WORKFLOW_EXECUTION.value]] = time.perf_counter()
        await asyncio.sleep(0)
    return written


async def controller_lifecycle(
    count: int, workdir: Path, wrapper: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Create burst, completion mirror and lock release of `count` WFEs with the controller
    (run under `wrapper`, e.g. a profiler, when given)."""
    async with (
        harness.served_emulator() as emu,
        processes.audit_server(f"sqlite:///{workdir / f'audit-{count}.db'}") as audit_url,
    ):
        kubeconfig = emu.write_kubeconfig(workdir / "kubeconfig")
        log = workdir / f"controller-{count}.log"
        async with processes.controller(
            sys.executable, kubeconfig, audit_url, log, cooldown=COOLDOWN, wrapper=wrapper
        ) as process:
            await harness.wait_for_controller(emu, process, log)
            await harness.wait_quiet(emu, 0.5)
            cpu_before = processes.cpu_seconds(process.pid)
            mark = len(emu.request_log)
            wfe_watch, run_watch = await _burst(emu, count)
            await harness.wait_quiet(emu, QUIET)
            records = harness.records_from(emu, mark)
            create = burst_figures(wfe_watch, run_watch, count, records, harness.is_controller)
            written = await _complete_in_chunks(emu)
            await harness.wait_until(
                lambda: len(wfe_watch.reached_any(("Completed", "Failed"))) >= count,
                f"{count} WFEs Completed",
            )
            finished = wfe_watch.reached_any(("Completed", "Failed"))
            samples = latencies(written, finished)
            await harness.wait_until(lambda: len(run_watch.deleted) >= count, "runs released")
            await harness.wait_quiet(emu, QUIET)
            cpu_after = processes.cpu_seconds(process.pid)
            lifecycle = harness.counted_requests(
                harness.records_from(emu, mark), harness.is_controller
            )
            wfe_watch.detach()
            run_watch.detach()
    return {
        "create": create,
        "completion": {
            "wfes": count,
            "p50_seconds": percentile(samples, 0.50),
            "p99_seconds": percentile(samples, 0.99),
            "latency_samples": [round(s, 5) for s in samples],
        },
        "lifecycle": {
            "cpu_seconds_per_wfe": (cpu_after - cpu_before) / count,
            "requests_per_wfe": sum(lifecycle.values()) / count,
            "requests": dict(sorted(lifecycle.items())),
        },
    }
