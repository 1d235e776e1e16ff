"""The budget every WFE's conflict retries share: a burst at once, then the rate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kubernaut_wfe.core.retry_budget import RetryBudget

AT = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def test_a_burst_goes_at_once_then_each_retry_waits_its_turn() -> None:
    budget = RetryBudget(rate=10.0, burst=3.0)
    waits = [budget.reserve(AT) for _ in range(6)]
    assert waits[:3] == [timedelta(0)] * 3
    assert waits[3:] == [timedelta(seconds=s) for s in (0.1, 0.2, 0.3)]


def test_the_budget_refills_at_its_rate_up_to_its_burst() -> None:
    budget = RetryBudget(rate=10.0, burst=2.0)
    for _ in range(2):
        budget.reserve(AT)
    assert budget.reserve(AT + timedelta(seconds=0.1)) == timedelta(0)
    later = AT + timedelta(hours=1)
    assert [budget.reserve(later) for _ in range(3)] == [
        timedelta(0),
        timedelta(0),
        timedelta(seconds=0.1),
    ]


def test_forty_wfes_in_conflict_at_once_are_spread_over_seconds() -> None:
    budget = RetryBudget()
    last = max(budget.reserve(AT) for _ in range(40))
    assert last == timedelta(seconds=3)
