from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from kubernaut_wfe_tools.tekton_simulator.clock import LoopClock, SystemClock


@pytest.mark.looptime
async def test_loop_clock_follows_the_fake_event_loop_time() -> None:
    clock = LoopClock()
    before = clock.now()
    await clock.sleep(3600)
    elapsed = clock.now() - before
    assert abs(elapsed - timedelta(hours=1)) < timedelta(milliseconds=1)
    assert before.tzinfo is UTC


def test_system_clock_is_aware_utc() -> None:
    assert SystemClock().now().tzinfo is UTC
