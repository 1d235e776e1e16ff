"""The chaos report carries the figures #20 names at its top level, and says in words whether
the invariants held."""

from __future__ import annotations

from collections import Counter

from chaos.invariants import Ceilings, Observed, ObservedWfe, check, tally_events
from chaos.plan import make_plan
from chaos.report import markdown, report
from chaos.workload import make_workload

TOP_LEVEL = {
    "wfes", "kills", "outage_seconds", "events_expected", "events_stored", "events_duplicated",
    "events_missing", "max_requests_per_second_failing", "peak_rss_mib", "seed", "invariants",
}  # fmt: skip


def test_the_report_holds_the_named_figures_and_each_invariant() -> None:
    plan, cases = make_plan(9), make_workload(9, 40)
    observed = Observed(
        wfes={c.name: ObservedWfe(c.expected.phase, None) for c in cases},
        stored={c.name: Counter(c.expected.events) for c in cases},
        max_requests_per_second_failing=12.34,
        peak_rss_mib=150.0,
    )
    invariants = check(cases, observed, Ceilings(50.0, 300.0))
    document = report(
        plan,
        len(cases),
        tally_events(cases, observed),
        observed,
        invariants,
        kills=20,
        faults_injected={"leader-kill": 20},
    )
    assert set(document) >= TOP_LEVEL
    assert (document["seed"], document["wfes"], document["kills"]) == (9, 40, 20)
    assert document["outage_seconds"] >= 300
    assert document["max_requests_per_second_failing"] == 12.3
    assert [item["name"] for item in document["invariants"]] == [i.name for i in invariants]
    text = markdown(document)
    assert "CHAOS_SEED=9" in text
    assert ("all invariants hold" in text) == all(i.ok for i in invariants)
