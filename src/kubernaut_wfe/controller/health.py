"""The probes' verdicts (`/healthz`, `/readyz`) and the stop signals of the pre-kopf phase."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

import httpx

from kubernaut_wfe.adapters.kube import CUSTOM_RESOURCE_DEFINITIONS, KubeClient
from kubernaut_wfe.constants import PIPELINERUN_PLURAL, TASKRUN_PLURAL, TEKTON_GROUP
from kubernaut_wfe.controller.liveness import LoopHeartbeat, WatchMonitor
from kubernaut_wfe.controller.probes import ProbeReport

TEKTON_CRDS = (f"{PIPELINERUN_PLURAL}.{TEKTON_GROUP}", f"{TASKRUN_PLURAL}.{TEKTON_GROUP}")


def liveness_report(heartbeat: LoopHeartbeat, monitor: WatchMonitor | None) -> ProbeReport:
    """Alive while the event loop beats and (once started) a watch stream is open."""
    problems = {"event_loop": heartbeat.problem()}
    if monitor is not None:
        problems["watch"] = monitor.problem()
    checks = {name: problem or "ok" for name, problem in problems.items()}
    failing = [problem for problem in problems.values() if problem]
    return ProbeReport("; ".join(failing) or None, checks)


async def readiness_report(
    *, leader: str, watching: bool, kube: KubeClient | None, datastorage: str
) -> ProbeReport:
    """Ready when leading (or without election), no permission the controller needed was
    refused (see `adapters.permissions`), watching, and the Tekton CRDs are installed.

    `leader` is `disabled`, `leading` or `standby`; `datastorage` is only reported.
    """
    checks: dict[str, Any] = {"datastorage": datastorage, "leader": leader}
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
            return ProbeReport(f"the Tekton CRD {name} is not installed", checks)
    checks["tekton"] = "ok"
    return ProbeReport(None, checks)


async def datastorage_state(http: httpx.AsyncClient | None, base_url: str) -> str:
    """`reachable` (200 with DataStorage's `{"status": "healthy"}`), `unreachable: <error>`,
    `HTTP <status>`, or what else answered (a proxy's HTML page is not DataStorage)."""
    if http is None:
        return "unknown"
    try:
        response = await http.get(base_url.rstrip("/") + "/health")
    except httpx.HTTPError as error:
        return f"unreachable: {type(error).__name__}"
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    try:
        healthy = response.json().get("status") == "healthy"
    except (ValueError, AttributeError):
        healthy = False
    if not healthy:
        kind = response.headers.get("content-type", "no content type").split(";")[0]
        return f"answers, but not as DataStorage's /health does ({kind})"
    return "reachable"


@contextlib.contextmanager
def stop_on_signals(stopping: asyncio.Event) -> Iterator[None]:
    """SIGINT/SIGTERM set `stopping` (until kopf installs its own handlers): a standby may wait
    for the Lease for a long time and must still stop gracefully."""
    if threading.current_thread() is threading.main_thread():
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
    yield


async def relay(source: asyncio.Event, target: asyncio.Event) -> None:
    """Set `target` once `source` is set."""
    await source.wait()
    target.set()
