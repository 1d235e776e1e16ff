"""One chaos run on a real API server: two controller replicas with leader election behind the
fault proxy, the Tekton simulator and the node stand-in (both engines), the audit service on
PostgreSQL; the workload and the fault schedule of one seed at once, then a fault-free settle
phase, then the invariants and the report."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from chaos import observe
from chaos.drive import Driver
from chaos.faults import FaultDriver
from chaos.invariants import Ceilings, Observed, check, tally_events
from chaos.plan import ChaosPlan, PlanSettings, make_plan
from chaos.report import report
from chaos.services import CONTROLLER_NAMESPACE, AuditService, Replicas
from chaos.workload import Case, make_workload
from kubernaut_wfe_tools.node_simulator import NodeSimulator
from kubernaut_wfe_tools.processes import rss_mib
from kubernaut_wfe_tools.tekton_simulator import TektonSimulator
from kubernaut_wfe_tools.testing.stack import EXECUTION_NAMESPACE, FAST
from kubernaut_wfe_tools.testing.targets import cluster_target, ensure_namespaces, reset_cluster
from kubernaut_wfe_tools.testing.testcluster import TestCluster


@dataclass(frozen=True)
class ChaosSettings:
    wfes: int = 500
    plan: PlanSettings = field(default_factory=lambda: PlanSettings(duration=600.0))
    long_delay: int = 120
    cooldown: timedelta = timedelta(seconds=30)
    settle_timeout: float = 900.0
    """How long the fault-free phase may take to bring every WFE and event to its end."""
    ceilings: Ceilings = field(
        default_factory=lambda: Ceilings(requests_per_second_failing=60.0, rss_mib=400.0)
    )


FULL = ChaosSettings()
"""`make chaos`: 500 WFEs, 20 leader kills and a 5-minute outage in a 10-minute faulty phase."""
SHORT = ChaosSettings(
    wfes=40,
    plan=PlanSettings(
        duration=75.0,
        leader_kills=3,
        outage=25.0,
        flaps=2,
        flap_length=(3.0, 8.0),
        audit_kills=1,
        api_stretches=3,
        api_stretch_length=(3.0, 8.0),
        watch_faults=2,
        watch_stall_length=(4.0, 10.0),
    ),
    long_delay=20,
    cooldown=timedelta(seconds=8),
    settle_timeout=150.0,
)
"""The version `make test` runs: the same code, every kind of fault, under 3 minutes."""


@dataclass
class Outcome:
    document: dict[str, Any]
    """The report (`chaos.report.report`)."""
    logs: Path


@dataclass
class Memory:
    """The peak resident set of any controller process, sampled every second."""

    peak_mib: float = 0.0

    def sample(self, pids: Sequence[int]) -> None:
        for pid in pids:
            with contextlib.suppress(OSError):  # a replica killed meanwhile
                self.peak_mib = max(self.peak_mib, rss_mib(pid))


async def run_chaos(
    cluster: TestCluster, database_url: str, workdir: Path, seed: int, settings: ChaosSettings
) -> Outcome:
    plan = make_plan(seed, settings.plan)
    cases = make_workload(seed, settings.wfes, settings.long_delay)
    async with (
        cluster_target(cluster, workdir) as api,
        httpx.AsyncClient(base_url=cluster.url, verify=cluster.tls(), timeout=60) as admin,
    ):
        await reset_cluster(admin, {"default", EXECUTION_NAMESPACE, CONTROLLER_NAMESPACE})
        await ensure_namespaces(admin, (EXECUTION_NAMESPACE, CONTROLLER_NAMESPACE))
        audit = AuditService(database_url, workdir)
        await audit.start()
        replicas = Replicas(
            _controller_args(api.controller_kubeconfig, audit, settings), workdir, admin
        )
        faults = FaultDriver(plan, api.faults, audit, replicas)
        driver = Driver(admin, patience=settings.plan.duration + settings.settle_timeout)
        memory = Memory()
        try:
            async with _simulators(cluster), _supervised(replicas, memory):
                if await replicas.leader(within=90) is None:
                    raise RuntimeError("no controller replica took the Lease within 90 s")
                started, started_epoch = asyncio.get_running_loop().time(), time.time()
                spread = 0.8 * settings.plan.duration
                await asyncio.gather(driver.run(cases, started, spread), faults.run(started))
                api.faults.clear()
                await _settle(admin, audit.url, cases, settings)
                rate = observe.max_rate_while_failing(api.requests, plan, started_epoch)
                observed = await observe.observe(
                    admin,
                    audit.url,
                    cases,
                    settings.cooldown,
                    max_requests_per_second_failing=rate,
                    peak_rss_mib=memory.peak_mib,
                )
        finally:
            await replicas.stop_all()
            await audit.stop()
    document = _document(plan, cases, observed, settings=settings, faults=faults, replicas=replicas)
    document["problems"] = driver.problems + faults.notes
    return Outcome(document, workdir)


def _controller_args(kubeconfig: Path, audit: AuditService, settings: ChaosSettings) -> list[str]:
    return [
        "--kubeconfig", str(kubeconfig),
        "--datastorage-url", audit.url,
        "--cooldown-period", f"{int(settings.cooldown.total_seconds())}s",
        "--metrics-bind-address", "127.0.0.1:0",
        "--health-probe-bind-address", "127.0.0.1:0",
        "--log-format", "json",
    ]  # fmt: skip


@contextlib.asynccontextmanager
async def _simulators(cluster: TestCluster) -> AsyncIterator[None]:
    tls = cluster.tls()
    async with (
        TektonSimulator(cluster.url, namespaces=[EXECUTION_NAMESPACE], pacing=FAST, tls=tls),
        NodeSimulator(cluster.url, namespaces=[EXECUTION_NAMESPACE], tls=tls),
    ):
        yield


@contextlib.asynccontextmanager
async def _supervised(replicas: Replicas, memory: Memory) -> AsyncIterator[None]:
    """The replicas kept at their number and their memory sampled, every second, meanwhile."""

    async def supervise() -> None:
        while True:
            await replicas.keep()
            memory.sample([r.process.pid for r in replicas.running if r.process.pid])
            await asyncio.sleep(1)

    task = asyncio.create_task(supervise())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _settle(
    admin: httpx.AsyncClient, audit_url: str, cases: Sequence[Case], settings: ChaosSettings
) -> None:
    """Until every WFE has ended as expected, every due event is stored, no spool is left and
    every run is gone (or `settle_timeout` passes: the invariants then say what is not); told
    every 30 s."""
    loop = asyncio.get_running_loop()
    begun = loop.time()
    told = begun
    while loop.time() < begun + settings.settle_timeout:
        found = await observe.wfes(admin)
        ended = sum(
            observe.ended_as(found.get(case.name)).phase == case.expected.phase for case in cases
        )
        left = len(await observe.runs(admin))
        telling = loop.time() - told >= 30
        if (ended < len(cases) or left) and not telling:
            await asyncio.sleep(5)  # the events are read once the WFEs and runs are done
            continue
        stored = await observe.stored_events(audit_url, cases)
        tally = tally_events(cases, Observed(wfes={}, stored=stored))
        spools = await observe.items(admin, observe.SPOOLS, labelSelector=observe.SPOOL_SELECTOR)
        if ended == len(cases) and not left and not tally.missing and not spools:
            return
        if telling:
            told = loop.time()
            print(
                f"settling +{told - begun:.0f} s: {ended}/{len(cases)} WFEs ended, "
                f"{tally.expected - tally.missing}/{tally.expected} due events stored, "
                f"{left} runs and {len(spools)} spools left",
                flush=True,
            )
        await asyncio.sleep(5)


def _document(
    plan: ChaosPlan,
    cases: Sequence[Case],
    observed: Observed,
    *,
    settings: ChaosSettings,
    faults: FaultDriver,
    replicas: Replicas,
) -> dict[str, Any]:
    invariants = check(cases, observed, settings.ceilings)
    document = report(
        plan,
        len(cases),
        tally_events(cases, observed),
        observed,
        invariants,
        kills=replicas.kills,
        faults_injected=faults.injected,
    )
    document["replica_exits"] = replicas.exits
    document["audit_service_starts"] = faults.audit.starts
    return document
