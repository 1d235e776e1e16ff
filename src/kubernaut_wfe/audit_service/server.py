"""Running the audit service: open the store, serve HTTP until told to stop, close everything."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from datetime import UTC, datetime

from aiohttp import web

from kubernaut_wfe.audit_service.app import STATE_KEY, create_app
from kubernaut_wfe.audit_service.store import store_for_url
from kubernaut_wfe.httplog import quiet_client_faults


def utc_now() -> datetime:
    """The production clock."""
    return datetime.now(UTC)


async def serve(
    host: str,
    port: int,
    database_url: str,
    *,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve until `stop` is set (by default: until SIGINT or SIGTERM).

    `on_ready` receives the base URL once the socket listens (with the real port when `port` is 0).
    On stop, readiness turns 503 first, then in-flight requests finish and the store closes.
    """
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
    store = store_for_url(database_url)
    await store.open()
    quiet_client_faults()
    try:
        app = create_app(store, clock=utc_now)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port, backlog=1024)
            await site.start()
            bound_host, bound_port = runner.addresses[0][:2]
            if on_ready is not None:
                shown_host = f"[{bound_host}]" if ":" in bound_host else bound_host
                on_ready(f"http://{shown_host}:{bound_port}")
            await stop.wait()
            app[STATE_KEY].draining = True
        finally:
            await runner.cleanup()
    finally:
        await store.close()
