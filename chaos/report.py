"""The chaos run's report (pure), as `bench` writes its own: `chaos/results/latest.json` (the
figures, top-level) and `latest.md` (the same for people)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chaos.invariants import EventTally, Invariant, Observed
from chaos.plan import ChaosPlan


def report(
    plan: ChaosPlan,
    wfes: int,
    events: EventTally,
    observed: Observed,
    invariants: Sequence[Invariant],
    *,
    kills: int,
    faults_injected: Mapping[str, int],
) -> dict[str, Any]:
    """The JSON document: the figures #20 names at the top level, then the faults by kind."""
    return {
        "seed": plan.seed,
        "wfes": wfes,
        "kills": kills,
        "outage_seconds": round(plan.outage_seconds(), 1),
        "events_expected": events.expected,
        "events_stored": events.stored,
        "events_duplicated": events.duplicated,
        "events_missing": events.missing,
        "max_requests_per_second_failing": round(observed.max_requests_per_second_failing, 1),
        "peak_rss_mib": round(observed.peak_rss_mib, 1),
        "faults_injected": dict(sorted(faults_injected.items())),
        "invariants": [
            {"name": invariant.name, "ok": invariant.ok, "detail": invariant.detail}
            for invariant in invariants
        ],
    }


def markdown(document: Mapping[str, Any]) -> str:
    """The report for people: the figures, then each invariant with its verdict."""
    passed = all(item["ok"] for item in document["invariants"])
    lines = [
        "# Chaos soak",
        "",
        f"Seed {document['seed']} (`CHAOS_SEED={document['seed']} make chaos` replays the "
        f"schedule): {'all invariants hold' if passed else 'INVARIANTS BROKEN'}.",
        "",
        "| figure | value |",
        "|---|---|",
    ]
    for key in (
        "wfes",
        "kills",
        "outage_seconds",
        "events_expected",
        "events_stored",
        "events_duplicated",
        "events_missing",
        "max_requests_per_second_failing",
        "peak_rss_mib",
    ):
        lines.append(f"| {key} | {document[key]} |")
    lines += ["", "| fault | injected |", "|---|---|"]
    lines += [f"| {kind} | {count} |" for kind, count in document["faults_injected"].items()]
    lines += ["", "| invariant | ok | detail |", "|---|---|---|"]
    for item in document["invariants"]:
        lines.append(f"| {item['name']} | {'yes' if item['ok'] else 'NO'} | {item['detail']} |")
    return "\n".join(lines) + "\n"
