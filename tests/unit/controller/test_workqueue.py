"""The keyed work queue: dedup, one reconcile per key at a time, delayed adds, backoff."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from kubernaut_wfe.controller.workqueue import Backoff, WorkQueue

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


async def test_bookkeeping_waits_for_urgent_keys() -> None:
    recorder = Recorder()
    queue: WorkQueue[str] = WorkQueue(recorder, workers=1, bookkeeping_delay=10)
    queue.add_bookkeeping("audit")
    queue.add("new-1")
    queue.add("new-2")
    queue.start()
    await asyncio.sleep(1)
    await queue.stop()
    assert [key for key, _ in recorder.calls] == ["new-1", "new-2", "audit"]


async def test_bookkeeping_runs_at_once_when_nothing_else_waits() -> None:
    recorder = Recorder()
    queue: WorkQueue[str] = WorkQueue(recorder, workers=1, bookkeeping_delay=10)
    queue.start()
    queue.add_bookkeeping("audit")
    await asyncio.sleep(0.5)
    await queue.stop()
    assert [key for key, _ in recorder.calls] == ["audit"]
    assert recorder.calls[0][1] == pytest.approx(0, abs=0.01)  # not held back


async def test_overdue_bookkeeping_goes_before_newer_urgent_keys() -> None:
    hold = asyncio.Event()
    recorder = Recorder(hold=hold)
    queue: WorkQueue[str] = WorkQueue(recorder, workers=1, bookkeeping_delay=2)
    queue.start()
    queue.add("busy")  # occupies the only worker
    await asyncio.sleep(0.1)
    queue.add_bookkeeping("audit")
    queue.add("urgent-1")
    await asyncio.sleep(3)  # "audit" is overdue by now
    queue.add("urgent-2")
    hold.set()
    await asyncio.sleep(1)
    await queue.stop()
    assert [key for key, _ in recorder.calls] == ["busy", "audit", "urgent-1", "urgent-2"]


async def test_an_urgent_add_promotes_a_bookkeeping_key_and_dedups_it() -> None:
    recorder = Recorder()
    queue: WorkQueue[str] = WorkQueue(recorder, workers=1, bookkeeping_delay=10)
    queue.add("first")
    queue.add_bookkeeping("x")
    queue.add("x")
    queue.add_bookkeeping("x")
    queue.add("last")
    assert queue.depth == 3
    queue.start()
    await asyncio.sleep(1)
    await queue.stop()
    assert [key for key, _ in recorder.calls] == ["first", "x", "last"]


async def test_wait_until_idle_returns_when_nothing_waits_or_at_its_bound() -> None:
    hold = asyncio.Event()
    queue: WorkQueue[str] = WorkQueue(Recorder(hold=hold), workers=1)
    loop = asyncio.get_running_loop()
    start = loop.time()
    await queue.wait_until_idle(10)
    assert loop.time() == start  # nothing queued: idle at once
    queue.start()
    queue.add("a")  # taken by the only worker at once, and held there
    await asyncio.sleep(0)
    await queue.wait_until_idle(3)
    assert loop.time() - start == pytest.approx(3)  # "a" is still in flight: the bound ends it
    queue.add_bookkeeping("b")  # waits behind it
    loop.call_later(1, hold.set)
    await queue.wait_until_idle(10)
    assert loop.time() - start == pytest.approx(4)  # "a" and then "b" done: idle
    await queue.stop()


async def test_stop_ends_every_wait_for_a_lull() -> None:
    queue: WorkQueue[str] = WorkQueue(Recorder(), workers=1)
    queue.add("never-started")
    waiter = asyncio.create_task(queue.wait_until_idle(60))
    await asyncio.sleep(1)
    assert not waiter.done()
    await queue.stop()
    await asyncio.wait([waiter], timeout=0.01)
    assert waiter.done()
