"""A keyed work queue: one reconcile at a time per key, pending keys deduplicated, delayed
re-adds (cooldown end, lock release), bounded exponential backoff with jitter on errors, and a
lower priority for bookkeeping (`add_bookkeeping`), so that recording what happened never delays
what has to happen next, yet never waits longer than `bookkeeping_delay`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

Key = TypeVar("Key", bound=Hashable)


@dataclass(frozen=True)
class Backoff:
    """Delays after consecutive failures of one key: base * 2^(n-1), capped, equal jitter."""

    base: float = 0.5
    cap: float = 60.0

    def delay(self, failures: int, rng: Callable[[], float] = random.random) -> float:
        """Seconds to wait after the `failures`-th consecutive failure (1-based)."""
        ceiling = min(self.cap, self.base * 2.0 ** min(failures - 1, 32))
        return ceiling / 2 + rng() * ceiling / 2


class WorkQueue(Generic[Key]):
    """Runs `process(key)` on a pool of workers; see the module docstring.

    A key added while it is being processed is processed once more afterwards, so that no
    event is lost. `process` raising counts as a failure: the key is re-added after a backoff.
    """

    def __init__(
        self,
        process: Callable[[Key], Awaitable[None]],
        *,
        workers: int = 8,
        backoff: Backoff | None = None,
        bookkeeping_delay: float = 2.0,
    ) -> None:
        self._process = process
        self._workers = workers
        self._backoff = backoff or Backoff()
        self._bookkeeping_delay = bookkeeping_delay
        self._queue: deque[Key] = deque()
        self._queued: set[Key] = set()
        self._bookkeeping: OrderedDict[Key, float] = OrderedDict()
        """Keys queued at low priority, oldest first, with the loop time they were added."""
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._active: set[Key] = set()
        self._dirty: set[Key] = set()
        self._failures: dict[Key, int] = {}
        self._timers: dict[Key, tuple[float, asyncio.TimerHandle]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._busy: set[asyncio.Task[None] | None] = set()
        self._stopping = False

    def add(self, key: Key) -> None:
        """Process `key` soon (once, however often it is added meanwhile)."""
        if self._stopping:
            return
        if key in self._active:
            self._dirty.add(key)
        elif key not in self._queued:
            self._bookkeeping.pop(key, None)
            self._queued.add(key)
            self._queue.append(key)
            self._wakeup.set()
            self._idle.clear()

    def add_bookkeeping(self, key: Key) -> None:
        """Process `key` once no other key waits, or after `bookkeeping_delay` seconds at the
        latest (a plain `add` meanwhile makes it urgent)."""
        if self._stopping:
            return
        if key in self._active:
            self._dirty.add(key)
        elif key not in self._queued and key not in self._bookkeeping:
            self._bookkeeping[key] = asyncio.get_running_loop().time()
            self._wakeup.set()
            self._idle.clear()

    def add_after(self, key: Key, delay: float) -> None:
        """Process `key` after `delay` seconds; an earlier pending timer for it wins."""
        if self._stopping:
            return
        if delay <= 0:
            self.add(key)
            return
        loop = asyncio.get_running_loop()
        due = loop.time() + delay
        existing = self._timers.get(key)
        if existing is not None:
            if existing[0] <= due:
                return
            existing[1].cancel()
        self._timers[key] = (due, loop.call_at(due, self._fire, key))

    def _fire(self, key: Key) -> None:
        self._timers.pop(key, None)
        self.add(key)

    def is_processing(self, key: Key) -> bool:
        """Whether `key` is being processed right now."""
        return key in self._active

    @property
    def depth(self) -> int:
        """Keys waiting to be processed (not counting timers)."""
        return len(self._queued) + len(self._bookkeeping)

    def _next_key(self) -> Key | None:
        """The overdue bookkeeping key, else the oldest urgent one, else any bookkeeping one."""
        if self._bookkeeping:
            key, since = next(iter(self._bookkeeping.items()))
            overdue = asyncio.get_running_loop().time() - since >= self._bookkeeping_delay
            if overdue or not self._queue:
                del self._bookkeeping[key]
                return key
        if self._queue:
            key = self._queue.popleft()
            self._queued.discard(key)
            return key
        return None

    async def wait_until_idle(self, timeout: float) -> None:  # noqa: ASYNC109
        """Wait until no key is being processed or waits to be, or `timeout` seconds at most."""
        if not self._idle.is_set() and timeout > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), timeout)

    async def _get(self) -> Key:
        while True:
            key = self._next_key()
            if key is not None:
                return key
            self._wakeup.clear()
            await self._wakeup.wait()

    def start(self) -> None:
        """Start the workers in the running loop."""
        for index in range(self._workers):
            self._tasks.append(asyncio.create_task(self._work(), name=f"reconcile-worker-{index}"))

    async def stop(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Stop taking work; let in-flight reconciles finish within `timeout` seconds."""
        self._stopping = True
        self._idle.set()  # nothing more will be taken: whoever waits for a lull stops waiting
        for _, handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        idle = [task for task in self._tasks if task not in self._busy]
        for task in idle:
            task.cancel()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=timeout)
            if pending:
                logger.warning(
                    "%d reconciles still running at the stop bound; cancelled", len(pending)
                )
            for task in pending:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    def _stopped(self) -> bool:
        # A method, not the attribute: the flag changes while a worker awaits.
        return self._stopping

    async def _work(self) -> None:
        task = asyncio.current_task()
        while not self._stopped():
            key = await self._get()
            if self._stopped():
                return
            self._active.add(key)
            self._busy.add(task)
            try:
                await self._run_one(key)
            finally:
                self._busy.discard(task)
                self._active.discard(key)
                if key in self._dirty:
                    self._dirty.discard(key)
                    self.add(key)
                if not self._active and not self._queue and not self._bookkeeping:
                    self._idle.set()

    async def _run_one(self, key: Key) -> None:
        try:
            await self._process(key)
        except asyncio.CancelledError:
            raise
        except Exception:
            failures = self._failures.get(key, 0) + 1
            self._failures[key] = failures
            delay = self._backoff.delay(failures)
            logger.exception(
                "reconcile of %s failed (%d in a row); retry in %.1fs", key, failures, delay
            )
            self.add_after(key, delay)
        else:
            self._failures.pop(key, None)
