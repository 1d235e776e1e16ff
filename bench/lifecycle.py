"""Scenarios 1 and 2: the create burst (controller vs the raw-HTTP floor) and the completion
mirror, plus the controller's CPU seconds per full WFE lifecycle, over a real controller process
against an API server: the in-process emulator or a real one (`bench.targets`); for WFEs of
either execution engine (`Engine`: `TEKTON`, `JOB`)."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import harness, job_objects, objects, processes
from bench.recorder import Timeline
from bench.stats import percentile
from bench.targets import Api, Target
from kubernaut_wfe.constants import (
    JOB_PLURAL,
    PIPELINERUN_PLURAL,
    ExecutionEngine,
    JobConditionType,
    Label,
)
from kubernaut_wfe_tools.emulator.faults import RequestRecord
from kubernaut_wfe_tools.processes import stop_process

WORKERS = 8
"""The controller's reconcile workers (its default); the floor runs as many."""
COOLDOWN = "1s"
QUIET = 1.0
FLOOR_START_TIMEOUT = 60.0
COMPLETION_TIMEOUT = 1200.0
"""Generous: on the real server the stand-in first runs the pods of a thousand Jobs (about seven
minutes on two busy cores)."""


@dataclass(frozen=True)
class Engine:
    """What the rows of one execution engine need: its WFEs, its runs, how they succeed."""

    name: str
    """`tekton` or `job`: the floor's ENGINE (`bench.floor`)."""
    runs: str
    """The runs' resource."""
    wfe: Callable[[int], dict[str, Any]]
    """The benchmark's WFE number `index` (each on its own target)."""
    succeed: Callable[[Api, Timeline, Callable[[], None]], Awaitable[dict[str, float]]]
    """Make every run succeed (given the runs' timeline and the controller's exit check); WFE
    name → when its run's success was committed (`time.perf_counter()`)."""
    run_conditions: tuple[str, ...] = ()
    """The run conditions the runs' timeline notes."""


async def _succeed_pipelineruns(
    api: Api, _runs: Timeline, _check: Callable[[], None]
) -> dict[str, float]:
    return await api.complete_runs(objects.succeeded_status())


async def _succeed_jobs(api: Api, jobs: Timeline, check: Callable[[], None]) -> dict[str, float]:
    """From the instant each Job was seen `Complete` (emulator: committed; real server: the
    benchmark's watch event), whoever wrote it."""
    await api.complete_jobs()
    complete = JobConditionType.COMPLETE.value
    await harness.wait_until(
        lambda: len(jobs.became_true(complete)) >= len(jobs.added),
        "every Job Complete",
        timeout=COMPLETION_TIMEOUT,
        check=check,
    )
    return {jobs.owners[name]: at for name, at in jobs.became_true(complete).items()}


TEKTON = Engine(
    ExecutionEngine.TEKTON.value, PIPELINERUN_PLURAL, objects.wfe, _succeed_pipelineruns
)
JOB = Engine(
    ExecutionEngine.JOB.value,
    JOB_PLURAL,
    job_objects.job_wfe,
    _succeed_jobs,
    (JobConditionType.COMPLETE.value,),
)
SCENARIO_ENGINES = {"burst": TEKTON, "jobs": JOB}
"""The engine of each `--only` choice of scenarios 1 and 2 (also its key in the results)."""


def latencies(starts: dict[str, float], ends: dict[str, float]) -> list[float]:
    """Seconds from each name's start to its end (names present in both)."""
    return [ends[name] - starts[name] for name in starts if name in ends]


def burst_figures(
    wfes: Timeline, runs: Timeline, count: int, records: list[RequestRecord]
) -> dict[str, Any]:
    """p50/p99 of creation → Running, the makespan, and requests per WFE: those each WFE needed
    to reach Running (`requests_per_wfe`, the target) and all until the API went quiet
    (`requests_per_wfe_until_quiet`: with the audit bookkeeping write that follows Running)."""
    running = wfes.reached("Running")
    samples = latencies(wfes.added, running)
    to_running = harness.counted_until(records, running, runs.owners)
    until_quiet = harness.counted_requests(records)
    return {
        "wfes": count,
        "p50_seconds": percentile(samples, 0.50),
        "p99_seconds": percentile(samples, 0.99),
        "makespan_seconds": max(running.values()) - min(wfes.added.values()),
        "runs_created": len(runs.added),
        "requests_per_wfe": sum(to_running.values()) / count,
        "requests": dict(sorted(to_running.items())),
        "requests_per_wfe_until_quiet": sum(until_quiet.values()) / count,
        "requests_until_quiet": dict(sorted(until_quiet.items())),
        "latency_samples": [round(s, 5) for s in samples],
        "observer_restarts": wfes.restarts + runs.restarts,
    }


@contextlib.asynccontextmanager
async def _burst(
    api: Api, count: int, check: Callable[[], None], engine: Engine
) -> AsyncIterator[tuple[Timeline, Timeline]]:
    """Create `count` WFEs at once; enter once every one is Running with its run created (`check`
    raises if the process that does the work is gone). The WFEs' and runs' timelines go on
    recording until the block ends."""
    owner = Label.WORKFLOW_EXECUTION.value
    async with (
        api.timeline("workflowexecutions") as wfes,
        api.timeline(engine.runs, owner, engine.run_conditions) as runs,
    ):
        await api.create_wfes([engine.wfe(index) for index in range(count)])
        await harness.wait_until(
            lambda: len(wfes.reached("Running")) >= count and len(runs.added) >= count,
            f"{count} WFEs Running",
            check=check,
        )
        yield wfes, runs


async def _floor_ready(process: asyncio.subprocess.Process, check: Callable[[], None]) -> None:
    """Wait for the floor's `ready` (its watch is open); `check` says why it exited if it did."""
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), FLOOR_START_TIMEOUT)
    if line.strip() != b"ready":
        await process.wait()
        check()
        raise harness.BenchTimeoutError(f"the floor said {line!r} instead of ready")


async def floor_burst(
    target: Target, count: int, workdir: Path, engine: Engine = TEKTON
) -> dict[str, Any]:
    """The create burst served by the raw-HTTP floor script, on a fresh API of `target`."""
    async with target.measurement(workdir) as api:
        log = api.scratch / "floor.log"
        with log.open("wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.floor",
                str(api.kubeconfig), str(count), str(WORKERS), engine.name,
                stdout=asyncio.subprocess.PIPE, stderr=stderr,
            )  # fmt: skip
        check = harness.exit_check(process, "floor", log)
        try:
            await _floor_ready(process, check)
            mark = api.request_count()
            async with _burst(api, count, check, engine) as (wfes, runs):
                await harness.wait_quiet(api.request_count, QUIET)
            return burst_figures(wfes, runs, count, api.requests_since(mark))
        finally:
            await stop_process(process, processes.STOP_TIMEOUT)


async def controller_lifecycle(
    target: Target,
    count: int,
    workdir: Path,
    wrapper: tuple[str, ...] = (),
    engine: Engine = TEKTON,
) -> dict[str, Any]:
    """Create burst, completion mirror and lock release of `count` WFEs of `engine` with the
    controller (run under `wrapper`, e.g. a profiler, when given), on a fresh API of `target`."""
    async with (
        target.measurement(workdir) as api,
        processes.audit_server(f"sqlite:///{api.scratch / 'audit.db'}") as audit_url,
    ):
        log = api.scratch / "controller.log"
        async with processes.controller(
            sys.executable, api.kubeconfig, audit_url, log, cooldown=COOLDOWN, wrapper=wrapper
        ) as process:
            await harness.wait_for_controller(api.watching, process, log)
            await harness.wait_quiet(api.request_count, 0.5)
            cpu_before = processes.cpu_seconds(process.pid)
            mark = api.request_count()
            check = harness.exit_check(process, "controller", log)
            async with _burst(api, count, check, engine) as (wfes, runs):
                await harness.wait_quiet(api.request_count, QUIET)
                create = burst_figures(wfes, runs, count, api.requests_since(mark))
                written = await engine.succeed(api, runs, check)
                await harness.wait_until(
                    lambda: len(wfes.reached_any(("Completed", "Failed"))) >= count,
                    f"{count} WFEs Completed",
                    timeout=COMPLETION_TIMEOUT,
                    check=check,
                )
                if failed := sorted(wfes.reached("Failed")):
                    raise harness.BenchTimeoutError(f"{len(failed)} WFEs Failed, e.g. {failed[0]}")
                samples = latencies(written, wfes.reached_any(("Completed", "Failed")))
                await harness.wait_until(
                    lambda: len(runs.deleted) >= count, "runs released", check=check
                )
                await harness.wait_quiet(api.request_count, QUIET)
            cpu_after = processes.cpu_seconds(process.pid)
            lifecycle = harness.counted_requests(api.requests_since(mark))
    return {
        "create": create,
        "completion": {
            "wfes": count,
            "p50_seconds": percentile(samples, 0.50),
            "p99_seconds": percentile(samples, 0.99),
            "latency_samples": [round(s, 5) for s in samples],
            "observer_restarts": wfes.restarts + runs.restarts,
        },
        "lifecycle": {
            "cpu_seconds_per_wfe": (cpu_after - cpu_before) / count,
            "requests_per_wfe": sum(lifecycle.values()) / count,
            "requests": dict(sorted(lifecycle.items())),
        },
    }
