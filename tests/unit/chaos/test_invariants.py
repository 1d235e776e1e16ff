"""The invariants over a settled chaos run: each one fails on the observation that breaks it,
naming what broke."""

from __future__ import annotations

from collections import Counter

from chaos.invariants import Ceilings, Observed, ObservedWfe, check, tally_events
from chaos.workload import make_workload
from kubernaut_wfe.constants import AuditEventType

CASES = make_workload(2, 60)
CEILINGS = Ceilings(requests_per_second_failing=50.0, rss_mib=300.0)


def perfect() -> Observed:
    return Observed(
        wfes={
            c.name: ObservedWfe(c.expected.phase, c.expected.reason and str(c.expected.reason))
            for c in CASES
        },
        stored={c.name: Counter(c.expected.events) for c in CASES},
        max_requests_per_second_failing=10.0,
        peak_rss_mib=120.0,
    )


def verdicts(observed: Observed) -> dict[str, bool]:
    return {invariant.name: invariant.ok for invariant in check(CASES, observed, CEILINGS)}


def test_a_perfect_run_passes_every_invariant() -> None:
    assert all(verdicts(perfect()).values())


def test_a_duplicate_a_missing_and_an_undue_event_each_fail_the_audit_invariant() -> None:
    observed = perfect()
    first, second = CASES[0].name, CASES[1].name
    stored = dict(observed.stored)
    stored[first] = stored[first] + Counter({CASES[0].expected.events[0]: 1})
    stored[second] = Counter(list(CASES[1].expected.events)[1:])
    tally = tally_events(CASES, Observed(observed.wfes, stored))
    assert (tally.duplicated, tally.missing) == (1, 1)
    assert any(first in example for example in tally.examples)
    assert not verdicts(Observed(observed.wfes, stored))[
        "every due audit event stored exactly once"
    ]
    completed = next(c for c in CASES if c.expected.phase == "Completed").name
    undue = dict(observed.stored)
    undue[completed] = undue[completed] + Counter({AuditEventType.WORKFLOW_FAILED: 1})
    assert tally_events(CASES, Observed(observed.wfes, undue)).unexpected == 1


def test_a_wrong_end_orphans_a_kept_lock_a_spool_a_hot_loop_and_bloat_each_fail() -> None:
    base = perfect()
    wfes = dict(base.wfes)
    wfes[CASES[0].name] = ObservedWfe("Running", None)
    broken = Observed(
        wfes,
        base.stored,
        orphan_runs=["wfe-0123"],
        locks_past_cooldown=["wfe-4567"],
        spools_left=1,
        max_requests_per_second_failing=500.0,
        peak_rss_mib=900.0,
    )
    failed = {name for name, ok in verdicts(broken).items() if not ok}
    assert failed == set(verdicts(broken)) - {"every due audit event stored exactly once"}


def test_a_quota_run_that_timed_out_unseen_may_say_deadline_exceeded_and_a_wrong_end_is_told() -> (
    None
):
    quota = next(
        c for c in make_workload(4, 400) if c.failure_mode == "quota" and c.engine == "tekton"
    )
    timed_out = Observed(
        wfes={quota.name: ObservedWfe("Failed", "DeadlineExceeded")},
        stored={quota.name: Counter(quota.expected.events)},
    )
    assert check([quota], timed_out, CEILINGS)[0].ok
    wrong = Observed(
        wfes={quota.name: ObservedWfe("Failed", "Unknown", "the run was deleted")},
        stored={quota.name: Counter(quota.expected.events)},
    )
    first = check([quota], wrong, CEILINGS)[0]
    assert not first.ok
    assert "the run was deleted" in first.detail
