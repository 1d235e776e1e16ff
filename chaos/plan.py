"""The fault schedule of a chaos run, from a seed alone (`CHAOS_SEED` reproduces it): when
DataStorage is down (one long outage, flaps elsewhere), when the audit service is SIGKILLed,
when the leader controller is SIGKILLed, when the API answers errors and when watches drop or
stall. Times are seconds from the start of the run."""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum


class FaultKind(StrEnum):
    DATASTORAGE_OUTAGE = "datastorage-outage"
    """DataStorage refuses connections for the whole window."""
    DATASTORAGE_FLAP = "datastorage-flap"
    """DataStorage down for a short window."""
    AUDIT_SERVICE_KILL = "audit-service-kill"
    """The audit service is SIGKILLed (mid-batch) and started again at the window's end."""
    LEADER_KILL = "leader-kill"
    """The leading controller replica is SIGKILLed at the window's start."""
    API_500 = "api-500"
    API_429 = "api-429"
    API_409 = "api-409"
    WATCH_DROP = "watch-drop"
    """Open watch streams are cut at the window's start."""
    WATCH_STALL = "watch-stall"
    """Watch streams send nothing for the window."""


API_FAULTS = (FaultKind.API_500, FaultKind.API_429, FaultKind.API_409)


@dataclass(frozen=True, order=True)
class Fault:
    start: float
    end: float
    kind: FaultKind


@dataclass(frozen=True)
class ChaosPlan:
    seed: int
    duration: float
    faults: tuple[Fault, ...]

    def of(self, kind: FaultKind) -> tuple[Fault, ...]:
        return tuple(fault for fault in self.faults if fault.kind is kind)

    def outage_seconds(self) -> float:
        """Seconds DataStorage was unreachable (outage and flaps, overlaps counted once)."""
        windows = sorted(
            (f.start, f.end)
            for f in self.faults
            if f.kind in {FaultKind.DATASTORAGE_OUTAGE, FaultKind.DATASTORAGE_FLAP}
        )
        total, reach = 0.0, 0.0
        for start, end in windows:
            begins = max(start, reach)
            if end > begins:
                total += end - begins
                reach = end
        return total


@dataclass(frozen=True)
class PlanSettings:
    duration: float = 900.0
    """The length of the faulty phase (the settle phase follows it, fault-free)."""
    leader_kills: int = 20
    outage: float = 300.0
    """The one long DataStorage outage."""
    flaps: int = 6
    flap_length: tuple[float, float] = (5.0, 30.0)
    audit_kills: int = 3
    api_stretches: int = 6
    api_stretch_length: tuple[float, float] = (5.0, 20.0)
    watch_faults: int = 6
    watch_stall_length: tuple[float, float] = (10.0, 60.0)


def make_plan(seed: int, settings: PlanSettings | None = None) -> ChaosPlan:
    """The schedule for `seed`: the same seed, the same schedule."""
    config = settings or PlanSettings()
    if config.outage >= config.duration:
        raise ValueError("the outage must fit in the faulty phase")
    rng = random.Random(seed)  # noqa: S311 - a reproducible schedule, not a secret
    end = config.duration
    faults: list[Fault] = []
    outage_start = rng.uniform(0.1 * end, end - config.outage)
    faults.append(Fault(outage_start, outage_start + config.outage, FaultKind.DATASTORAGE_OUTAGE))
    faults += _windows(rng, end, config.flaps, config.flap_length, FaultKind.DATASTORAGE_FLAP)
    faults += _windows(rng, end, config.audit_kills, (2.0, 10.0), FaultKind.AUDIT_SERVICE_KILL)
    for kind in API_FAULTS:
        faults += _windows(
            rng, end, config.api_stretches // len(API_FAULTS) or 1, config.api_stretch_length, kind
        )
    drops = config.watch_faults // 2
    faults += _windows(rng, end, drops, (0.0, 0.0), FaultKind.WATCH_DROP)
    faults += _windows(
        rng, end, config.watch_faults - drops, config.watch_stall_length, FaultKind.WATCH_STALL
    )
    # Kills spread over the run, at least a few seconds apart so each new leader gets going.
    slots = sorted(rng.uniform(0.02 * end, 0.98 * end) for _ in range(config.leader_kills))
    faults += [Fault(moment, moment, FaultKind.LEADER_KILL) for moment in slots]
    return ChaosPlan(seed, end, tuple(sorted(faults)))


def _windows(
    rng: random.Random, end: float, count: int, length: tuple[float, float], kind: FaultKind
) -> list[Fault]:
    windows = []
    for _ in range(count):
        size = rng.uniform(*length)
        start = rng.uniform(0.0, max(end - size, 0.0))
        windows.append(Fault(start, start + size, kind))
    return windows
