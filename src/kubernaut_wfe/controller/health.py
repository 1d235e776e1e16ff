"""The controller's health: `/metrics`, `/healthz` and `/readyz` over aiohttp (spec §7), and
what the probes judge.

The probes answer 200 or 503 with a JSON body: `{"status": "ok"|"failed", "reason": ...,
"checks": {...}}`. `/healthz` judges an event-loop heartbeat and a watch monitor; `/readyz`
leadership, refused permissions, the watches and the Tekton CRDs (and DataStorage when it is
configured to: `audit.require_datastorage_for_readiness`).

kopf's watch streams offer no hook to observe them, so the monitor keeps its own watch on the
WorkflowExecution resource, through the controller's API client (the same connection as kopf's)
and with the same server timeout, filtered to a name that never exists so that only the stream
itself (opening, BOOKMARKs) shows.
A normal server-side timeout is followed by an immediate reconnect and stays healthy; a watch
the API server no longer answers (held, refused, silently dead) goes stale after the timeout plus
a grace period, and turns healthy again as soon as a stream opens.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from kubernaut_wfe.adapters.kube import (
    CUSTOM_RESOURCE_DEFINITIONS,
    WORKFLOW_EXECUTIONS,
    ApiError,
    KubeClient,
)
from kubernaut_wfe.constants import PIPELINERUN_PLURAL, TASKRUN_PLURAL, TEKTON_GROUP
from kubernaut_wfe.core.config import without_user_info
from kubernaut_wfe.core.engines import RUNNABLE_ENGINES
from kubernaut_wfe.httplog import quiet_client_faults

logger = structlog.get_logger("kubernaut_wfe.health")


@dataclass(frozen=True)
class ProbeReport:
    """A probe's verdict: `problem` is None when passing; `checks` are reported either way."""

    problem: str | None = None
    checks: Mapping[str, Any] = field(default_factory=dict)

    def response(self) -> web.Response:
        """200 or 503 with the report as JSON."""
        body = {
            "status": "failed" if self.problem else "ok",
            **({"reason": self.problem} if self.problem else {}),
            "checks": dict(self.checks),
        }
        return web.json_response(body, status=503 if self.problem else 200)


ReadinessCheck = Callable[[], Awaitable[ProbeReport]]
LivenessCheck = Callable[[], ProbeReport]


def parse_bind_address(text: str) -> tuple[str, int]:
    """`HOST:PORT`, `[IPv6]:PORT` or `:PORT` (all interfaces) → (host, port), split as Go's
    `net.SplitHostPort` splits it: an IPv6 host needs its brackets."""
    host, sep, port = text.rpartition(":")
    bracketed = host.startswith("[") and host.endswith("]") and len(host) > 2
    if bracketed:
        host = host[1:-1]
    well_formed = not any(c in host for c in "[]") and (bracketed or ":" not in host)
    if not sep or not well_formed or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"bind address must be [HOST]:PORT, got {text!r}")
    return (host or "0.0.0.0"), int(port)  # noqa: S104 - as the Go flag did


class HttpEndpoints:
    """The metrics server and the probe server (two sites, possibly on one port each)."""

    def __init__(
        self,
        *,
        registry: CollectorRegistry,
        metrics_addr: str,
        probe_addr: str,
        alive: LivenessCheck,
        ready: ReadinessCheck,
    ) -> None:
        self._registry = registry
        self._metrics_addr = parse_bind_address(metrics_addr)
        self._probe_addr = parse_bind_address(probe_addr)
        self._alive = alive
        self._ready = ready
        self._runners: list[web.AppRunner] = []
        self.addresses: dict[str, tuple[str, int]] = {}

    async def start(self) -> None:
        """Bind both servers (port 0 = a free port; see `addresses`)."""
        quiet_client_faults()
        metrics = web.Application()
        metrics.router.add_get("/metrics", self._metrics)
        probes = web.Application()
        probes.router.add_get("/healthz", self._healthz)
        probes.router.add_get("/readyz", self._readyz)
        for name, app, (host, port) in (
            ("metrics", metrics, self._metrics_addr),
            ("probes", probes, self._probe_addr),
        ):
            runner = web.AppRunner(app, access_log=None, handle_signals=False)
            await runner.setup()
            site = web.TCPSite(runner, host, port)
            await site.start()
            self._runners.append(runner)
            self.addresses[name] = runner.addresses[0][:2]

    async def stop(self) -> None:
        """Close both servers."""
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()

    async def _metrics(self, _: web.Request) -> web.Response:
        body = generate_latest(self._registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, _: web.Request) -> web.Response:
        return _answer("/healthz", self._alive())

    async def _readyz(self, _: web.Request) -> web.Response:
        return _answer("/readyz", await self._ready())


def _answer(path: str, report: ProbeReport) -> web.Response:
    logger.debug("probe answered", path=path, problem=report.problem, checks=dict(report.checks))
    return report.response()


HEARTBEAT_INTERVAL = 1.0
LOOP_LAG_LIMIT = 15.0
"""Seconds without a heartbeat after which the event loop counts as stuck."""
MIN_WATCH_GRACE = 5.0
MAX_WATCH_GRACE = 60.0
"""Bounds of the grace period after the server timeout: the timeout itself, within them."""
RETRY_DELAY = 1.0
PROBE_NAME = "kubernaut-wfe-liveness-probe.invalid"
"""A name no object can have (it is not a DNS label), so the probe watch delivers no objects."""


class _WatchedTask:
    """A background task whose health a probe judges: started at start-up, stopped at the end."""

    task_name = ""

    def __init__(self, monotonic: Callable[[], float]) -> None:
        self._monotonic = monotonic
        self._task: asyncio.Task[None] | None = None

    def _launch(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.task_name)

    def _running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def stop(self) -> None:
        """Stop the task."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        raise NotImplementedError


class LoopHeartbeat(_WatchedTask):
    """A task that beats every second; a late beat means the loop is starved or blocked."""

    task_name = "heartbeat"

    def __init__(self, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        super().__init__(monotonic)
        self.last_beat = monotonic()

    def start(self) -> None:
        """Start beating."""
        self.last_beat = self._monotonic()
        self._launch()

    def problem(self) -> str | None:
        """Why the loop is unhealthy, or None."""
        if not self._running():
            return "the event loop heartbeat is not running"
        lag = self._monotonic() - self.last_beat
        if lag > LOOP_LAG_LIMIT:
            return f"the event loop has not run its heartbeat for {lag:.0f}s"
        return None

    async def _run(self) -> None:
        while True:
            self.last_beat = self._monotonic()
            await asyncio.sleep(HEARTBEAT_INTERVAL)


class WatchMonitor(_WatchedTask):
    """Keeps a probe watch open and reports how long the watch endpoint has been silent."""

    task_name = "watch-monitor"

    def __init__(
        self,
        kube: KubeClient,
        namespace: str | None,
        *,
        server_timeout: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """Watch WorkflowExecutions in `namespace` (None: all namespaces)."""
        super().__init__(monotonic)
        self._kube = kube
        self._namespace = namespace
        self.server_timeout = server_timeout
        self.grace = min(max(server_timeout, MIN_WATCH_GRACE), MAX_WATCH_GRACE)
        self.last_activity = monotonic()
        self.last_error: str | None = None

    def start(self) -> None:
        """Open the probe watch."""
        self.last_activity = self._monotonic()
        self._launch()

    def problem(self) -> str | None:
        """Why the watch counts as dead, or None."""
        if not self._running():
            return "the watch monitor is not running"
        silent = self._monotonic() - self.last_activity
        if silent > self.server_timeout + self.grace:
            detail = f" (last error: {self.last_error})" if self.last_error else ""
            return f"no watch stream has been open for {silent:.0f}s{detail}"
        return None

    async def _run(self) -> None:
        while True:
            try:
                await self._watch_once()
            except ApiError as error:
                self.last_error = str(error)
                logger.debug("probe watch failed", error=self.last_error)
                await asyncio.sleep(RETRY_DELAY)

    async def _watch_once(self) -> None:
        async with self._kube.watch(
            WORKFLOW_EXECUTIONS,
            self._namespace,
            field_selector=f"metadata.name={PROBE_NAME}",
            timeout_seconds=round(self.server_timeout),
            read_timeout=self.server_timeout + self.grace,
        ) as events:
            self.last_activity = self._monotonic()
            self.last_error = None
            async for _ in events:
                self.last_activity = self._monotonic()


TEKTON_CRDS = (f"{PIPELINERUN_PLURAL}.{TEKTON_GROUP}", f"{TASKRUN_PLURAL}.{TEKTON_GROUP}")


def liveness_report(heartbeat: LoopHeartbeat, monitor: WatchMonitor | None) -> ProbeReport:
    """Alive while the event loop beats and (once started) a watch stream is open."""
    problems = {"event_loop": heartbeat.problem()}
    if monitor is not None:
        problems["watch"] = monitor.problem()
    checks = {name: problem or "ok" for name, problem in problems.items()}
    failing = [problem for problem in problems.values() if problem]
    return ProbeReport("; ".join(failing) or None, checks)


REACHABLE = "reachable"
"""The state of a DataStorage that answered its readiness probe."""


@dataclass(frozen=True)
class DataStorageProbe:
    """What a readiness probe of DataStorage found."""

    url: str
    """The URL probed (without user information)."""
    state: str
    """`reachable`, or why not."""

    @property
    def reachable(self) -> bool:
        return self.state == REACHABLE


async def readiness_report(
    *,
    leader: str,
    watching: bool,
    kube: KubeClient | None,
    datastorage: DataStorageProbe,
    require_datastorage: bool = False,
    api_problem: str | None = None,
) -> ProbeReport:
    """Not ready while the API server has not answered (`api_problem` says why); then ready when
    leading (or without election), no permission the controller needed was
    refused (see `adapters.permissions`), watching, and the Tekton CRDs are installed. `engines`
    lists the execution engines WFEs can use.

    `leader` is `disabled`, `leading` or `standby`; `datastorage` is only reported, unless
    `require_datastorage` (`audit.require_datastorage_for_readiness`) makes it a condition.
    """
    checks: dict[str, Any] = {
        "datastorage": datastorage.state,
        "datastorage_url": datastorage.url,
        "leader": leader,
    }
    if api_problem is not None:
        checks["apiserver"] = api_problem
        return ProbeReport(api_problem, checks)
    if leader == "standby":
        return ProbeReport("this instance does not hold the leader lease", checks)
    if kube is not None and (missing := await kube.missing_permissions()):
        named = [str(permission) for permission, _ in missing]
        checks["permissions"] = {"missing": named}
        return ProbeReport(f"missing permission: {'; '.join(named)}", checks)
    if not watching or kube is None:
        return ProbeReport("the watches are not established yet", checks)
    checks["permissions"] = "ok"
    for name in TEKTON_CRDS:
        if await kube.get(CUSTOM_RESOURCE_DEFINITIONS, name) is None:
            checks["tekton"] = f"{name} missing"
            checks["engines"] = []
            return ProbeReport(f"the Tekton CRD {name} is not installed", checks)
    checks["tekton"] = "ok"
    checks["engines"] = sorted(engine.value for engine in RUNNABLE_ENGINES)
    if require_datastorage and not datastorage.reachable:
        return ProbeReport(
            f"DataStorage at {datastorage.url} is not ready: {datastorage.state}", checks
        )
    return ProbeReport(None, checks)


async def datastorage_state(
    http: httpx.AsyncClient | None, base_url: str, health_url: str | None = None
) -> DataStorageProbe:
    """Probe DataStorage at `health_url`: any 2xx is `reachable`; without one, at
    `<base_url>/health`: `reachable` only with DataStorage's `{"status": "healthy"}` (a proxy's
    HTML page is not DataStorage). Otherwise `unreachable: <error>`, `HTTP <status>`, or what
    else answered."""
    url = health_url or base_url.rstrip("/") + "/health"
    shown = without_user_info(url)
    if http is None:
        return DataStorageProbe(shown, "unknown")
    try:
        response = await http.get(url)
    except httpx.HTTPError as error:
        return DataStorageProbe(shown, f"unreachable: {type(error).__name__}")
    if health_url is not None:
        state = REACHABLE if response.is_success else f"HTTP {response.status_code}"
        return DataStorageProbe(shown, state)
    if response.status_code != 200:
        return DataStorageProbe(shown, f"HTTP {response.status_code}")
    try:
        healthy = response.json().get("status") == "healthy"
    except (ValueError, AttributeError):
        healthy = False
    if not healthy:
        kind = response.headers.get("content-type", "no content type").split(";")[0]
        return DataStorageProbe(shown, f"answers, but not as DataStorage's /health does ({kind})")
    return DataStorageProbe(shown, REACHABLE)
