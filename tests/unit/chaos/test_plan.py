"""The chaos run's fault schedule: reproducible from its seed, with what `make chaos` promises
(one long DataStorage outage, flaps, audit service kills, at least 20 leader kills, API error
stretches, dropped and stalled watches), all inside the faulty phase."""

from __future__ import annotations

import pytest

from chaos.plan import API_FAULTS, FaultKind, PlanSettings, make_plan


def test_the_same_seed_gives_the_same_schedule_and_another_seed_another() -> None:
    assert make_plan(1234) == make_plan(1234)
    assert make_plan(1234).faults != make_plan(1235).faults


def test_the_default_schedule_holds_every_promised_fault() -> None:
    plan = make_plan(7)
    (outage,) = plan.of(FaultKind.DATASTORAGE_OUTAGE)
    assert outage.end - outage.start == pytest.approx(300.0)
    assert len(plan.of(FaultKind.LEADER_KILL)) == 20
    assert plan.of(FaultKind.DATASTORAGE_FLAP)
    assert plan.of(FaultKind.AUDIT_SERVICE_KILL)
    assert all(plan.of(kind) for kind in API_FAULTS)
    assert plan.of(FaultKind.WATCH_DROP)
    assert plan.of(FaultKind.WATCH_STALL)
    assert plan.outage_seconds() >= 300.0
    assert all(0.0 <= fault.start <= fault.end <= plan.duration for fault in plan.faults)
    assert list(plan.faults) == sorted(plan.faults)


def test_overlapping_downtime_is_counted_once() -> None:
    settings = PlanSettings(duration=100.0, outage=50.0, flaps=40, flap_length=(5.0, 10.0))
    plan = make_plan(3, settings)
    assert plan.outage_seconds() <= plan.duration


def test_an_outage_longer_than_the_run_is_refused() -> None:
    with pytest.raises(ValueError, match="outage"):
        make_plan(1, PlanSettings(duration=100.0, outage=100.0))
