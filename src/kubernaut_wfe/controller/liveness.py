"""What `/healthz` judges: an event-loop heartbeat and a watch monitor.

kopf's watch streams offer no hook to observe them, so the monitor keeps its own watch on the
WorkflowExecution resource, over the same connection settings and with the same server timeout,
filtered to a name that never exists so that only the stream itself (opening, BOOKMARKs) shows.
A normal server-side timeout is followed by an immediate reconnect and stays healthy; a watch
the API server no longer answers (held, refused, silently dead) goes stale after the timeout plus
a grace period, and turns healthy again as soon as a stream opens.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import httpx
import structlog

from kubernaut_wfe.adapters.kube_auth import BearerTokenAuth, build_ssl_context
from kubernaut_wfe.adapters.kubeconfig import KubeConfig

logger = structlog.get_logger("kubernaut_wfe.liveness")

HEARTBEAT_INTERVAL = 1.0
LOOP_LAG_LIMIT = 15.0
"""Seconds without a heartbeat after which the event loop counts as stuck."""
MIN_WATCH_GRACE = 5.0
MAX_WATCH_GRACE = 60.0
"""Bounds of the grace period after the server timeout: the timeout itself, within them."""
RETRY_DELAY = 1.0
PROBE_NAME = "kubernaut-wfe-liveness-probe.invalid"
"""A name no object can have (it is not a DNS label), so the probe watch delivers no objects."""


class LoopHeartbeat:
    """A task that beats every second; a late beat means the loop is starved or blocked."""

    def __init__(self, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self.last_beat = monotonic()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start beating."""
        self.last_beat = self._monotonic()
        self._task = asyncio.create_task(self._beat(), name="heartbeat")

    async def stop(self) -> None:
        """Stop beating."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def problem(self) -> str | None:
        """Why the loop is unhealthy, or None."""
        if self._task is None or self._task.done():
            return "the event loop heartbeat is not running"
        lag = self._monotonic() - self.last_beat
        if lag > LOOP_LAG_LIMIT:
            return f"the event loop has not run its heartbeat for {lag:.0f}s"
        return None

    async def _beat(self) -> None:
        while True:
            self.last_beat = self._monotonic()
            await asyncio.sleep(HEARTBEAT_INTERVAL)


def _http_client(config: KubeConfig, read_timeout: float) -> httpx.AsyncClient:
    auth = None
    if config.token or config.token_file:
        auth = BearerTokenAuth(token=config.token, token_file=config.token_file)
    tls = config.server.startswith("https://")
    return httpx.AsyncClient(
        base_url=config.server,
        auth=auth,
        verify=build_ssl_context(config) if tls else True,
        timeout=httpx.Timeout(30.0, read=read_timeout),
        trust_env=False,
    )


class WatchMonitor:
    """Keeps a probe watch open and reports how long the watch endpoint has been silent."""

    def __init__(
        self,
        config: KubeConfig,
        watch_path: str,
        *,
        server_timeout: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._path = watch_path
        self.server_timeout = server_timeout
        self.grace = min(max(server_timeout, MIN_WATCH_GRACE), MAX_WATCH_GRACE)
        self._monotonic = monotonic
        self.last_activity = monotonic()
        self.last_error: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None

    def start(self) -> None:
        """Open the probe watch (blocking TLS set-up: call at start-up)."""
        self.last_activity = self._monotonic()
        self._client = _http_client(self._config, self.server_timeout + self.grace)
        self._task = asyncio.create_task(self._watch_forever(), name="watch-monitor")

    async def stop(self) -> None:
        """Close the probe watch."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    def problem(self) -> str | None:
        """Why the watch counts as dead, or None."""
        if self._task is None or self._task.done():
            return "the watch monitor is not running"
        silent = self._monotonic() - self.last_activity
        if silent > self.server_timeout + self.grace:
            detail = f" (last error: {self.last_error})" if self.last_error else ""
            return f"no watch stream has been open for {silent:.0f}s{detail}"
        return None

    async def _watch_forever(self) -> None:
        while True:
            try:
                await self._watch_once()
            except (httpx.HTTPError, OSError) as error:
                self.last_error = f"{type(error).__name__}: {error}"
                logger.debug("probe watch failed", error=self.last_error)
                await asyncio.sleep(RETRY_DELAY)

    async def _watch_once(self) -> None:
        assert self._client is not None
        params = {
            "watch": "true",
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(round(self.server_timeout)),
            "fieldSelector": f"metadata.name={PROBE_NAME}",
        }
        async with self._client.stream("GET", self._path, params=params) as response:
            if response.status_code != httpx.codes.OK:
                with contextlib.suppress(httpx.HTTPError):
                    await response.aread()
                self.last_error = f"HTTP {response.status_code}"
                await asyncio.sleep(RETRY_DELAY)
                return
            self.last_activity = self._monotonic()
            self.last_error = None
            async for _ in response.aiter_lines():
                self.last_activity = self._monotonic()
