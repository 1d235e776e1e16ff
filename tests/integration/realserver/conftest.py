"""The controller as its own process on the real API server, on the ServiceAccount identity of
`deploy/rbac/`, with the audit service (SQLite) and the Tekton simulator playing Tekton."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from kubernaut_wfe.tekton_simulator import TektonSimulator
from kubernaut_wfe.testing.stack import (
    EXECUTION_NAMESPACE,
    FAST,
    ControllerProcess,
    poll_until,
    sqlite_audit_service,
    stored_audit_events,
)
from kubernaut_wfe.testing.targets import WFE_API
from kubernaut_wfe.testing.testcluster import TestCluster

RUNS_API = f"/apis/tekton.dev/v1/namespaces/{EXECUTION_NAMESPACE}/pipelineruns"
WAIT = 60.0


@dataclass
class ServerStack:
    """What a controller test on the real API server talks to."""

    cluster: TestCluster
    client: httpx.AsyncClient
    audit_url: str
    tmp_path: Path
    controllers: list[ControllerProcess] = field(default_factory=list)

    async def start_controller(
        self, *extra: str, kubeconfig: Path | None = None
    ) -> ControllerProcess:
        """`kubernaut-wfe run` on the controller's ServiceAccount, once its endpoints serve."""
        proc = ControllerProcess(
            [
                "--kubeconfig", str(kubeconfig or self.cluster.controller_kubeconfig),
                "--datastorage-url", self.audit_url,
                "--cooldown-period", "2s",
                "--metrics-bind-address", "127.0.0.1:0",
                "--health-probe-bind-address", "127.0.0.1:0",
                "--log-format", "json",
                *extra,
            ],
            self.tmp_path / f"controller-{len(self.controllers)}.log",
            {},
        )  # fmt: skip
        self.controllers.append(proc)
        await proc.start()
        await self.wait_for(proc.ports, what="the controller's endpoints")
        return proc

    async def readiness(self, proc: ControllerProcess) -> dict[str, Any]:
        ports = proc.ports()
        assert ports is not None
        async with httpx.AsyncClient() as probe:
            answer = await probe.get(f"http://127.0.0.1:{ports['probes']}/readyz")
        body: dict[str, Any] = answer.json()
        return body

    async def audit_events(self, correlation_id: str) -> list[dict[str, Any]]:
        """The audit service's stored events of a correlation id."""
        return await stored_audit_events(self.audit_url, correlation_id)

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        namespace = body["metadata"]["namespace"]
        answer = await self.client.post(
            f"{WFE_API}/namespaces/{namespace}/workflowexecutions", json=body
        )
        assert answer.status_code == 201, answer.text
        created: dict[str, Any] = answer.json()
        return created

    async def wfe(self, name: str, namespace: str = "default") -> dict[str, Any] | None:
        answer = await self.client.get(
            f"{WFE_API}/namespaces/{namespace}/workflowexecutions/{name}"
        )
        if answer.status_code == 404:
            return None
        answer.raise_for_status()
        found: dict[str, Any] = answer.json()
        return found

    async def runs(self) -> list[dict[str, Any]]:
        answer = await self.client.get(RUNS_API)
        answer.raise_for_status()
        items: list[dict[str, Any]] = answer.json()["items"]
        return items

    async def wait_phase(self, name: str, phase: str, namespace: str = "default") -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            found = await self.wfe(name, namespace)
            return found if ((found or {}).get("status") or {}).get("phase") == phase else None

        result: dict[str, Any] = await self.wait_for(
            probe, what=f"{namespace}/{name} to be {phase}"
        )
        return result

    async def wait_for(self, probe: Callable[[], Any], *, what: str, within: float = WAIT) -> Any:
        """Poll `probe` (plain or async) until truthy; on timeout fail with the controller logs."""
        return await poll_until(probe, what, within, 0.1, self.controllers)


@contextlib.asynccontextmanager
async def server_stack(
    cluster: TestCluster, tmp_path: Path, *, tekton: bool = True
) -> AsyncIterator[ServerStack]:
    """The stack on `cluster`: an admin client, the audit service, the simulator; every
    controller started through it is stopped at the end."""
    async with (
        sqlite_audit_service(tmp_path) as audit_url,
        httpx.AsyncClient(base_url=cluster.url, verify=cluster.tls(), timeout=30) as client,
        contextlib.AsyncExitStack() as exits,
    ):
        if tekton:
            simulator = TektonSimulator(
                cluster.url, namespaces=[EXECUTION_NAMESPACE], pacing=FAST, tls=cluster.tls()
            )
            await exits.enter_async_context(simulator)
        stack = ServerStack(cluster, client, audit_url, tmp_path)
        try:
            yield stack
        finally:
            for controller in stack.controllers:
                await controller.stop()


@pytest.fixture
async def stack(cluster: TestCluster, tmp_path: Path) -> AsyncIterator[ServerStack]:
    async with server_stack(cluster, tmp_path) as started:
        yield started
