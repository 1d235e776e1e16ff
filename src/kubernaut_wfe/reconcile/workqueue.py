"""A keyed work queue: one reconcile at a time per key, pending keys deduplicated, delayed
re-adds (cooldown end, lock release), bounded exponential backoff with jitter on errors.
Ours rather than kopf's per-object handler workers: those run as many reconciles at once as there
are objects with news, and have no delayed re-add but a handler's own sleep."""

from __future__ import annotations

import asyncio
import logging
import random
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
    ) -> None:
        self._process = process
        self._workers = workers
        self._backoff = backoff or Backoff()
        self._queue: asyncio.Queue[Key] = asyncio.Queue()
        self._queued: set[Key] = set()
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
            self._queued.add(key)
            self._queue.put_nowait(key)

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

    def start(self) -> None:
        """Start the workers in the running loop."""
        for index in range(self._workers):
            self._tasks.append(asyncio.create_task(self._work(), name=f"reconcile-worker-{index}"))

    async def stop(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Stop taking work; let in-flight reconciles finish within `timeout` seconds."""
        self._stopping = True
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
            key = await self._queue.get()
            self._queued.discard(key)
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
