"""Liveness verdicts: a late heartbeat fails the loop check; the probes' JSON bodies."""

from __future__ import annotations

import asyncio
import json

from kubernaut_wfe.controller.health import (
    LOOP_LAG_LIMIT,
    LoopHeartbeat,
    ProbeReport,
    liveness_report,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_late_heartbeat_fails_the_event_loop_check() -> None:
    clock = FakeClock()
    heartbeat = LoopHeartbeat(monotonic=clock)
    assert heartbeat.problem() == "the event loop heartbeat is not running"
    heartbeat.start()
    await asyncio.sleep(0)
    assert heartbeat.problem() is None
    assert liveness_report(heartbeat, None).problem is None
    clock.now += LOOP_LAG_LIMIT + 1
    problem = heartbeat.problem()
    assert problem is not None
    assert "has not run its heartbeat" in problem
    report = liveness_report(heartbeat, None)
    assert report.problem == problem
    assert report.checks == {"event_loop": problem}
    await heartbeat.stop()


def test_probe_reports_answer_json() -> None:
    failed = ProbeReport("no watch", {"watch": "no watch"}).response()
    assert failed.status == 503
    assert failed.text is not None
    assert json.loads(failed.text) == {
        "status": "failed",
        "reason": "no watch",
        "checks": {"watch": "no watch"},
    }
    passed = ProbeReport(None, {"leader": "disabled"}).response()
    assert passed.status == 200
    assert passed.text is not None
    assert json.loads(passed.text) == {"status": "ok", "checks": {"leader": "disabled"}}
