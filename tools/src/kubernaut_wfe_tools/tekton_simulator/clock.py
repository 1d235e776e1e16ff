"""The simulator's notion of time: injectable, so tests can fake it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Where the simulator reads the time and how it waits (inject a fake one in tests)."""

    def now(self) -> datetime: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Wall-clock time and `asyncio.sleep`."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class LoopClock:
    """Wall-clock time advanced by the event loop's clock, so that `looptime` fakes both."""

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._origin = datetime.now(UTC)
        self._loop_origin = loop.time()

    def now(self) -> datetime:
        return self._origin + timedelta(seconds=self._loop.time() - self._loop_origin)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
