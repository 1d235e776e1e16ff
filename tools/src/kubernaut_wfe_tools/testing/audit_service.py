"""The audit service running in the caller's event loop, for tests and benchmarks."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from kubernaut_wfe.audit_service.server import serve

READY_TIMEOUT = 60.0


@contextlib.asynccontextmanager
async def in_process_audit_service(database_url: str, port: int = 0) -> AsyncIterator[str]:
    """Serve the audit service on 127.0.0.1 (a free port by default); yields its base URL and
    stops it on exit. A service that dies before it is ready fails the caller at once."""
    stop = asyncio.Event()
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        serve("127.0.0.1", port, database_url, stop=stop, on_ready=ready.set_result)
    )

    def report_early_exit(_: asyncio.Task[None]) -> None:
        if not ready.done():
            ready.set_exception(RuntimeError("the audit service exited before it was ready"))

    task.add_done_callback(report_early_exit)
    try:
        yield await asyncio.wait_for(ready, READY_TIMEOUT)
    finally:
        stop.set()
        await task
