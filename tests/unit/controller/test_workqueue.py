"""The keyed work queue: dedup, one reconcile per key at a time, delayed adds, backoff."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from kubernaut_wfe.reconcile.workqueue import Backoff, WorkQueue

pytestmark = pytest.mark.looptime


class Recorder:
    def __init__(self, *, fail_times: int = 0, hold: asyncio.Event | None = None) -> None:
        self.calls: list[tuple[str, float]] = []
        self.running: set[str] = set()
        self.overlap = False
        self.fail_times = fail_times
        self.hold = hold
        self.done = asyncio.Event()

    async def __call__(self, key: str) -> None:
        if key in self.running:
            self.overlap = True
        self.running.add(key)
        self.calls.append((key, asyncio.get_running_loop().time()))
        try:
            if self.hold is not None:
                await self.hold.wait()
            if self.fail_times:
                self.fail_times -= 1
                raise RuntimeError("boom")
        finally:
            self.running.discard(key)
            self.done.set()


async def test_pending_keys_are_deduplicated() -> None:
    recorder = Recorder()
    queue: WorkQueue[str] = WorkQueue(recorder, workers=2)
    for _ in range(5):
        queue.add("a")
    queue.add("b")
    queue.start()
    await asyncio.sleep(1)
    await queue.stop()
    assert sorted(key for key, _ in recorder.calls) == ["a", "b"]


async def test_a_key_added_while_running_runs_once_more_and_never_in_parallel() -> None:
    hold = asyncio.Event()
    recorder = Recorder(hold=hold)
    queue: WorkQueue[str] = WorkQueue(recorder, workers=4)
    queue.start()
    queue.add("a")
    await asyncio.sleep(0.1)
    queue.add("a")
    queue.add("a")
    await asyncio.sleep(0.1)
    hold.set()
    await asyncio.sleep(1)
    await queue.stop()
    assert [key for key, _ in recorder.calls] == ["a", "a"]
    assert not recorder.overlap


async def test_add_after_fires_at_the_earliest_requested_time() -> None:
    recorder = Recorder()
    queue: WorkQueue[str] = WorkQueue(recorder)
    queue.start()
    start = asyncio.get_running_loop().time()
    queue.add_after("a", 30)
    queue.add_after("a", 10)
    queue.add_after("a", 20)
    await asyncio.sleep(60)
    await queue.stop()
    assert [round(at - start) for _, at in recorder.calls] == [10]


async def test_failures_are_retried_with_growing_backoff() -> None:
    recorder = Recorder(fail_times=3)
    queue: WorkQueue[str] = WorkQueue(recorder, backoff=Backoff(base=1, cap=100))
    queue.start()
    queue.add("a")
    await asyncio.sleep(100)
    await queue.stop()
    times = [at for _, at in recorder.calls]
    assert len(times) == 4
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert 0.5 <= gaps[0] <= 1
    assert 1 <= gaps[1] <= 2
    assert 2 <= gaps[2] <= 4


async def test_stop_waits_for_in_flight_work_and_takes_no_more() -> None:
    hold = asyncio.Event()
    recorder = Recorder(hold=hold)
    queue: WorkQueue[str] = WorkQueue(recorder)
    queue.start()
    queue.add("a")
    await asyncio.sleep(0.1)
    stopping = asyncio.create_task(queue.stop(timeout=50))
    await asyncio.sleep(1)
    assert not stopping.done()
    queue.add("b")
    hold.set()
    await stopping
    assert [key for key, _ in recorder.calls] == ["a"]


@pytest.mark.parametrize(("failures", "low", "high"), [(1, 0.25, 0.5), (3, 1, 2), (20, 30, 60)])
def test_backoff_is_bounded_and_jittered(failures: int, low: float, high: float) -> None:
    backoff = Backoff(base=0.5, cap=60)
    assert backoff.delay(failures, rng=lambda: 0.0) == low
    assert backoff.delay(failures, rng=lambda: 1.0) == high


async def test_stop_returns_as_soon_as_in_flight_work_is_done() -> None:
    hold = asyncio.Event()
    recorder = Recorder(hold=hold)
    queue: WorkQueue[str] = WorkQueue(recorder, workers=1)
    queue.start()
    queue.add("a")
    await asyncio.sleep(0.1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    stopping = asyncio.create_task(queue.stop(timeout=50))
    await asyncio.sleep(1)
    hold.set()
    await stopping
    assert loop.time() - started < 5
