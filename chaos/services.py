"""What a chaos run SIGKILLs and starts again: the audit service on PostgreSQL (on one port for the
whole run, so the controllers' DataStorage URL survives its restarts) and the controller replicas
with leader election (kept at their number, as a Deployment keeps its pods)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from kubernaut_wfe_tools.processes import AuditServerProcess, free_port
from kubernaut_wfe_tools.testing.stack import ControllerProcess

LEASE_PATH = (
    "/apis/coordination.k8s.io/v1/namespaces/kubernaut-system/leases/workflowexecution.kubernaut.ai"
)
CONTROLLER_NAMESPACE = "kubernaut-system"
LEADER_TIMINGS = (
    "--leader-elect-lease-duration", "6s",
    "--leader-elect-renew-deadline", "4s",
    "--leader-elect-retry-period", "1s",
)  # fmt: skip
"""Short enough that a killed leader is replaced within seconds, long enough for a busy machine."""


class AuditService:
    """`kubernaut-wfe audit-server` on PostgreSQL at a fixed address. It is down while any
    reason to be down holds (an outage and a flap may overlap)."""

    def __init__(self, database_url: str, workdir: Path) -> None:
        self.database_url = database_url
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: AuditServerProcess | None = None
        self.starts = 0
        self._down_reasons = 0
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        self.starts += 1
        process = AuditServerProcess(
            ["--listen", f"127.0.0.1:{self.port}", "--database", self.database_url],
            self.workdir / f"audit-service-{self.starts}.log",
        )
        await process.start()
        self.process = process
        await process.wait_ready(f"{self.url}/health/ready", timeout=60)

    async def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.returncode is None:
            await self.process.stop(sig, timeout=20)
        self.process = None

    async def down(self, sig: int = signal.SIGTERM) -> None:
        """One more reason to be down: stopped (SIGKILL mid-batch with `sig`) if it runs."""
        async with self._lock:
            self._down_reasons += 1
            await self.stop(sig)

    async def up(self) -> None:
        """One reason fewer: started again once none is left."""
        async with self._lock:
            self._down_reasons -= 1
            if self._down_reasons == 0 and self.process is None:
                await self.start()


@dataclass
class Replica:
    process: ControllerProcess
    identity: str | None = None
    """The Lease holder identity it logged, once it did (read once, then kept)."""

    def read_identity(self) -> str | None:
        if self.identity is None:
            self.identity = self.process.identity()
        return self.identity


@dataclass
class Replicas:
    """`count` controller processes on the proxied kubeconfig, all with leader election; one
    that exits (a lost Lease, a kill) is replaced at once."""

    args: Sequence[str]
    workdir: Path
    admin: httpx.AsyncClient
    count: int = 2
    running: list[Replica] = field(default_factory=list)
    started: int = 0
    kills: int = 0
    exits: int = 0
    """Replicas that ended by themselves (a Lease lost while the API failed)."""
    pids: list[int] = field(default_factory=list)

    async def start_one(self) -> Replica:
        self.started += 1
        process = ControllerProcess(
            [*self.args, *LEADER_TIMINGS, "--leader-elect"],
            self.workdir / f"controller-{self.started}.log",
            {"POD_NAMESPACE": CONTROLLER_NAMESPACE},
        )
        await process.start()
        assert process.pid is not None
        self.pids.append(process.pid)
        replica = Replica(process)
        self.running.append(replica)
        return replica

    async def keep(self) -> None:
        """Replace exited replicas and top up to `count` (once)."""
        for replica in list(self.running):
            if replica.process.returncode is not None:
                self.running.remove(replica)
                self.exits += 1
        while len(self.running) < self.count:
            await self.start_one()

    async def leader(self, within: float) -> Replica | None:
        """The replica holding the Lease now (None if none does within `within` s)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while loop.time() < deadline:
            holder = await self._holder()
            for replica in self.running:
                alive = replica.process.returncode is None
                if alive and holder is not None and replica.read_identity() == holder:
                    return replica
            await asyncio.sleep(0.2)
        return None

    async def kill(self, replica: Replica) -> None:
        """SIGKILL `replica` and start its replacement."""
        if replica in self.running:
            self.running.remove(replica)
        await replica.process.stop(signal.SIGKILL, timeout=10)
        self.kills += 1
        await self.start_one()

    async def stop_all(self) -> None:
        for replica in self.running:
            with contextlib.suppress(ProcessLookupError):
                await replica.process.stop(signal.SIGTERM)
        self.running.clear()

    async def _holder(self) -> str | None:
        with contextlib.suppress(httpx.HTTPError):
            answer = await self.admin.get(LEASE_PATH)
            if answer.status_code == 200:
                holder = answer.json().get("spec", {}).get("holderIdentity")
                return str(holder) if holder else None
        return None


async def buffered_audit_events(replica: Replica) -> float:
    """The replica's `workflowexecution_audit_buffer_depth` (0 when unreadable)."""
    ports = replica.process.ports()
    if ports is None:
        return 0.0
    with contextlib.suppress(httpx.HTTPError):
        async with httpx.AsyncClient(timeout=2) as client:
            text = (await client.get(f"http://127.0.0.1:{ports['metrics']}/metrics")).text
        for line in text.splitlines():
            if line.startswith("workflowexecution_audit_buffer_depth"):
                return float(line.rsplit(" ", 1)[1])
    return 0.0
