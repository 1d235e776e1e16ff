"""SIGTERM with a backlog and a DataStorage that never answers audit writes: the controller still
exits 0 within its bounds, and a restart against a healthy DataStorage loses nothing due."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web

from kubernaut_wfe_tools.testing.stack import wfe_body

# The suite's stack lives in the sibling conftest (importlib mode: no absolute path).
from .conftest import TRAIL, Stack  # noqa: TID252

pytestmark = pytest.mark.timeout(240)

BACKLOG = 12


@pytest.fixture
async def stalling_audit(stack: Stack) -> AsyncIterator[str]:
    """A front of the audit service whose writes hang until the test ends (then fail with 503);
    reads pass through."""
    release = asyncio.Event()

    async def handle(request: web.Request) -> web.StreamResponse:
        if request.method != "GET":
            await release.wait()
            return web.json_response({"detail": "stalled"}, status=503)
        async with httpx.AsyncClient(base_url=stack.audit_url) as client:
            upstream = await client.get(request.path, params=dict(request.query))
        return web.Response(
            body=upstream.content,
            status=upstream.status_code,
            content_type=upstream.headers.get("content-type", "application/json").split(";")[0],
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        release.set()
        await runner.cleanup()


async def assert_trail_once(stack: Stack, correlation_id: str) -> None:
    async def complete() -> list[dict[str, Any]] | None:
        events = await stack.audit_events(correlation_id)
        return events if {e["event_type"] for e in events} >= TRAIL else None

    events = await stack.wait_for(complete, what=f"the audit trail of {correlation_id}")
    counts = Counter(e["event_type"] for e in events)
    assert set(counts) == TRAIL
    assert all(count == 1 for count in counts.values()), counts


async def test_sigterm_with_a_backlog_and_a_stalled_audit_service(
    stack: Stack, stalling_audit: str
) -> None:
    first = await stack.start_controller(datastorage_url=stalling_audit)
    names = [f"backlog-{index:02d}" for index in range(BACKLOG)]
    for name in names:
        await stack.create(wfe_body(name))

    async def some_completed() -> bool:
        return sum([await stack.phase(name) == "Completed" for name in names]) >= 3

    await stack.wait_for(some_completed, what="part of the backlog to complete")

    code = await first.stop(signal.SIGTERM, timeout=30)
    assert code == 0, first.log()[-3000:]
    log = first.log()
    assert "controller stopping" in log
    assert "controller stopped" in log

    await stack.start_controller()
    for name in names:
        await stack.wait_phase(name, "Completed")
    for name in names:
        await assert_trail_once(stack, f"rr-{name}")
    assert stack.run_creations() == BACKLOG
