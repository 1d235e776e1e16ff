"""One reconcile at a time per lock name, from the read of the lock to the end of that reconcile.

The API server keeps a name unique per kind only, and a PipelineRun and a Job share the lock's
name: two WFEs on one target, one per engine, reconciled at once by two workers, could each read
the name free as both kinds and each create its own kind. Leader election keeps a single
controller acting, so holding the name inside this process closes that window.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class TargetLocks:
    """A mutex per lock name, kept only while someone holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @contextlib.asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[None]:
        """Hold `name` for the duration of the block."""
        lock = self._locks.setdefault(name, asyncio.Lock())
        self._users[name] = self._users.get(name, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[name] -= 1
            if not self._users[name]:
                del self._users[name]
                del self._locks[name]

    def __len__(self) -> int:
        """Lock names held or waited for."""
        return len(self._locks)
