"""What must hold once a chaos run has settled, checked over what was observed (pure): each one
named, passed or not, with a detail a person can act on."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from chaos.workload import Case
from kubernaut_wfe.constants import AuditEventType


@dataclass(frozen=True)
class ObservedWfe:
    phase: str | None
    """None: the WFE no longer exists."""
    reason: str | None
    message: str = ""
    """Its failure message, told when it ended otherwise than expected."""


@dataclass(frozen=True)
class Observed:
    """What the runner read once everything settled."""

    wfes: Mapping[str, ObservedWfe]
    stored: Mapping[str, Counter[AuditEventType]]
    """Stored events by WFE name (its correlation id is `rr-<name>`), counted."""
    orphan_runs: Sequence[str] = ()
    """PipelineRuns and Jobs whose owning WFE does not exist."""
    locks_past_cooldown: Sequence[str] = ()
    spools_left: int = 0
    max_requests_per_second_failing: float = 0.0
    busiest_second: str = ""
    """What the controllers sent in that second."""
    peak_rss_mib: float = 0.0


@dataclass(frozen=True)
class Invariant:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Ceilings:
    requests_per_second_failing: float
    """Requests per second while the API fails: above it, a hot loop."""
    rss_mib: float


@dataclass(frozen=True)
class EventTally:
    expected: int
    stored: int
    duplicated: int
    missing: int
    unexpected: int
    examples: list[str] = field(default_factory=list)


def tally_events(cases: Sequence[Case], observed: Observed) -> EventTally:
    """Every due event stored exactly once: duplicates, missing ones and unexpected ones."""
    expected = stored = duplicated = missing = unexpected = 0
    examples: list[str] = []
    for case in cases:
        due = Counter(case.expected.events)
        seen = observed.stored.get(case.name, Counter())
        expected += sum(due.values())
        stored += sum(seen.values())
        for event_type in set(due) | set(seen):
            have, want = seen[event_type], due[event_type]
            if want and have > want:
                duplicated += have - want
                examples.append(f"{case.name}: {event_type} stored {have} times")
            elif want and have < want:
                missing += want - have
                examples.append(f"{case.name}: {event_type} missing")
            elif not want and have:
                unexpected += have
                examples.append(f"{case.name}: {event_type} not due, stored {have} times")
    return EventTally(expected, stored, duplicated, missing, unexpected, examples[:10])


def check(cases: Sequence[Case], observed: Observed, ceilings: Ceilings) -> list[Invariant]:
    """Each invariant of #20, in order."""
    wrong = []
    for case in cases:
        seen = observed.wfes.get(case.name, ObservedWfe(None, None))
        want = case.expected
        reasons = {want.reason, *want.also}
        if seen.phase != want.phase or (want.reason is not None and seen.reason not in reasons):
            wrong.append(
                f"{case.name} ({case.role}, {case.engine}, {case.failure_mode}): "
                f"{seen.phase}/{seen.reason}, expected {want.phase}/{want.reason}"
                + (f" ({seen.message[:200]})" if seen.message else "")
            )
    events = tally_events(cases, observed)
    return [
        Invariant(
            "every WFE ended as its outcome dictates",
            not wrong,
            "; ".join(wrong[:10]) or f"{len(cases)} WFEs as expected",
        ),
        Invariant(
            "every due audit event stored exactly once",
            events.duplicated == events.missing == events.unexpected == 0,
            "; ".join(events.examples) or f"{events.expected} expected, {events.stored} stored",
        ),
        Invariant(
            "no run without a live owning WFE",
            not observed.orphan_runs,
            ", ".join(observed.orphan_runs[:10]) or "none",
        ),
        Invariant(
            "no lock held past its cooldown",
            not observed.locks_past_cooldown,
            ", ".join(observed.locks_past_cooldown[:10]) or "none",
        ),
        Invariant(
            "no audit spool left",
            observed.spools_left == 0,
            f"{observed.spools_left} spool ConfigMaps left",
        ),
        Invariant(
            "API requests per second bounded while failing",
            observed.max_requests_per_second_failing <= ceilings.requests_per_second_failing,
            f"max {observed.max_requests_per_second_failing:.1f}/s, "
            f"ceiling {ceilings.requests_per_second_failing:.1f}/s "
            f"({observed.busiest_second or 'no request while failing'})",
        ),
        Invariant(
            "controller memory bounded",
            observed.peak_rss_mib <= ceilings.rss_mib,
            f"peak {observed.peak_rss_mib:.0f} MiB, ceiling {ceilings.rss_mib:.0f} MiB",
        ),
    ]
