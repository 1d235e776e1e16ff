"""`/metrics` and `/healthz` `/readyz` over aiohttp (spec §7). The probes answer 200 or 503 with
a JSON body: `{"status": "ok"|"failed", "reason": ..., "checks": {...}}`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from kubernaut_wfe.httplog import quiet_client_faults


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
    """`HOST:PORT` or `:PORT` (all interfaces) → (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"bind address must be [HOST]:PORT, got {text!r}")
    return (host.strip("[]") or "0.0.0.0"), int(port)  # noqa: S104 - as the Go flag did


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
        return self._alive().response()

    async def _readyz(self, _: web.Request) -> web.Response:
        return (await self._ready()).response()
