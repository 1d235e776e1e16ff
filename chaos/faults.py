"""The plan's faults applied at their moments: DataStorage outages and flaps, audit service
SIGKILLs, leader SIGKILLs (some right after a run's create went out, some with audit events
buffered), API errors for stretches, and watches dropped or stalled at the fault proxy."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from chaos.plan import API_FAULTS, ChaosPlan, Fault, FaultKind
from chaos.services import AuditService, Replicas, buffered_audit_events
from kubernaut_wfe_tools.emulator.faults import FaultInjector, FaultRule

FOREVER = 10**9
"""A rule's count for a stretch: it is removed when the stretch ends."""
API_ERRORS: dict[FaultKind, tuple[int, tuple[str | None, ...]]] = {
    FaultKind.API_500: (500, (None,)),
    FaultKind.API_429: (429, (None,)),
    FaultKind.API_409: (409, ("create", "update", "patch")),
}
"""Each API fault's status and the verbs it answers (None: every request; a conflict only
answers writes)."""


class KillVariant:
    PLAIN = "leader-kill"
    AFTER_RUN_CREATE = "leader-kill/after-run-create"
    """Between the run's create (held at the proxy, then passed on) and the status write."""
    AUDIT_BUFFERED = "leader-kill/audit-buffered"
    """While the leader holds audit events not yet acknowledged (mid-batch or queued)."""


VARIANTS = (KillVariant.PLAIN, KillVariant.AFTER_RUN_CREATE, KillVariant.AUDIT_BUFFERED)


@dataclass
class FaultDriver:
    plan: ChaosPlan
    faults: FaultInjector
    audit: AuditService
    replicas: Replicas
    say: Callable[[str], None] = print
    """Where each fault is told as it is applied."""
    injected: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    _kills: int = 0
    _started: float = 0.0

    async def run(self, started: float) -> None:
        """Apply every fault at `started` + its start, and undo it at its end."""
        loop = asyncio.get_running_loop()
        self._started = started
        tasks = []
        for fault in self.plan.faults:
            await asyncio.sleep(max(0.0, started + fault.start - loop.time()))
            tasks.append(asyncio.create_task(self._apply(fault, started)))
        await asyncio.gather(*tasks)

    async def _apply(self, fault: Fault, started: float) -> None:
        loop = asyncio.get_running_loop()

        async def until_end() -> None:
            await asyncio.sleep(max(0.0, started + fault.end - loop.time()))

        kind = fault.kind
        if kind is FaultKind.LEADER_KILL:
            await self._kill_leader()
            return
        self._tell(f"{kind.value} for {fault.end - fault.start:.0f} s")
        self.injected[kind.value] += 1
        if kind in (FaultKind.DATASTORAGE_OUTAGE, FaultKind.DATASTORAGE_FLAP):
            await self.audit.down()
            await until_end()
            await self.audit.up()
        elif kind is FaultKind.AUDIT_SERVICE_KILL:
            await self.audit.down(signal.SIGKILL)
            await until_end()
            await self.audit.up()
        elif kind in API_FAULTS:
            status, verbs = API_ERRORS[kind]
            rules = [
                self.faults.add(action="error", status=status, verb=verb, count=FOREVER)
                for verb in verbs
            ]
            await until_end()
            self._remove(rules)
        elif kind is FaultKind.WATCH_DROP:
            self.faults.add(action="drop-watch", count=0)
        elif kind is FaultKind.WATCH_STALL:
            held = self.faults.add(action="hold", verb="watch", count=FOREVER)
            self.faults.add(action="drop-watch", count=0)
            await until_end()
            self._remove([held])
            self.faults.release()

    async def _kill_leader(self) -> None:
        variant = VARIANTS[self._kills % len(VARIANTS)]
        self._kills += 1
        leader = await self.replicas.leader(within=30)
        if leader is None:
            self.notes.append("a leader kill found no leader within 30 s")
            return
        if variant == KillVariant.AFTER_RUN_CREATE:
            held = [
                self.faults.add(action="delay", verb="create", resource=resource,
                                delay_seconds=2.0, count=1)
                for resource in ("pipelineruns", "jobs")
            ]  # fmt: skip
            if not await _served_any(held, within=30):
                variant = KillVariant.PLAIN
            self._remove(held)
            await asyncio.sleep(0.2)
        elif variant == KillVariant.AUDIT_BUFFERED:
            if not await _audit_buffered(self.replicas, within=30):
                variant = KillVariant.PLAIN
            leader = await self.replicas.leader(within=5) or leader
        await self.replicas.kill(leader)
        self._tell(f"{variant} (SIGKILL {leader.identity})")
        self.injected[variant] += 1

    def _tell(self, what: str) -> None:
        self.say(f"+{asyncio.get_running_loop().time() - self._started:6.1f} s  {what}")

    def _remove(self, rules: list[FaultRule]) -> None:
        for rule in rules:
            if rule in self.faults.rules:
                self.faults.rules.remove(rule)


async def _served_any(rules: list[FaultRule], within: float) -> bool:
    for _ in range(int(within / 0.05)):
        if any(rule.served for rule in rules):
            return True
        await asyncio.sleep(0.05)
    return False


async def _audit_buffered(replicas: Replicas, within: float) -> bool:
    for _ in range(int(within / 0.5)):
        leader = await replicas.leader(within=1)
        if leader is not None and await buffered_audit_events(leader) > 0:
            return True
        await asyncio.sleep(0.5)
    return False
