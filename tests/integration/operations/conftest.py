"""The operations stack: the shared integration stack (`kubernaut_wfe_tools.testing.stack`) with the
audit service on SQLite, and controllers in their own namespace, each with its probe and
metrics ports read from its JSON log."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from kubernaut_wfe_tools.testing.stack import (
    EXECUTION_NAMESPACE,
    ControllerProcess,
    IntegrationStack,
    Readiness,
    serving_stack,
    sqlite_audit_service,
)
from kubernaut_wfe_tools.testing.testcluster import TestCluster

CONTROLLER_NAMESPACE = "kubernaut-system"
LEASE_NAME = "workflowexecution.kubernaut.ai"
TRAIL = {
    "workflowexecution.selection.completed",
    "workflowexecution.execution.started",
    "workflowexecution.workflow.completed",
}
"""The audit events due for a WFE whose run succeeded."""
LEADER_TIMINGS = (
    "--leader-elect-lease-duration", "4s",
    "--leader-elect-renew-deadline", "3s",
    "--leader-elect-retry-period", "1s",
)  # fmt: skip


class Stack(IntegrationStack):
    """Everything an operations test talks to; its controllers run in the controller's namespace
    and are ready once their HTTP endpoints serve."""

    wait_timeout: ClassVar[float] = 60.0
    poll_interval: ClassVar[float] = 0.1
    controller_cooldown: ClassVar[str] = "1s"
    controller_log_format: ClassVar[str] = "json"
    controller_env: ClassVar[Mapping[str, str]] = {"POD_NAMESPACE": CONTROLLER_NAMESPACE}
    controller_ready: ClassVar[Readiness] = "endpoints"

    async def probe(self, proc: ControllerProcess, path: str) -> httpx.Response:
        """GET a probe or metrics path of a controller."""
        ports = proc.ports()
        assert ports is not None
        port = ports["metrics"] if path == "/metrics" else ports["probes"]
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.get(f"http://127.0.0.1:{port}{path}")

    async def phase(self, name: str) -> str | None:
        """The phase of a WFE in `default`, once it has one."""
        obj = await self.wfe(name) or {}
        phase = (obj.get("status") or {}).get("phase")
        return str(phase) if phase else None

    async def lease(self) -> dict[str, Any] | None:
        """The leader-election Lease, once created."""
        return await self.read(
            f"/apis/coordination.k8s.io/v1/namespaces/{CONTROLLER_NAMESPACE}/leases/{LEASE_NAME}"
        )

    async def holder(self) -> str | None:
        """The Lease's holder identity, if any."""
        spec = (await self.lease() or {}).get("spec") or {}
        holder = spec.get("holderIdentity")
        return str(holder) if holder is not None else None

    async def holder_is(self, identity: str | None) -> bool:
        """Whether the Lease names `identity` (a probe for `wait_for`)."""
        return await self.holder() == identity


@pytest.fixture
async def audit_url(tmp_path: Path) -> AsyncIterator[str]:
    """The audit service on SQLite, serving until the test ends."""
    async with sqlite_audit_service(tmp_path) as url:
        yield url


@contextlib.asynccontextmanager
async def operations_stack(
    tmp_path: Path,
    audit_url: str,
    *,
    cluster: TestCluster | None,
    crd_paths: list[Path] | None = None,
    tekton: bool = True,
) -> AsyncIterator[Stack]:
    """The API server (`cluster`, or an emulator with `crd_paths` if given), namespaces, the
    Tekton simulator with `tekton`; controllers started through the stack are killed at the end."""
    async with serving_stack(
        Stack,
        tmp_path,
        audit_url,
        cluster=cluster,
        namespaces=(EXECUTION_NAMESPACE, CONTROLLER_NAMESPACE),
        tekton=tekton,
        crd_paths=crd_paths,
        stop_signal=signal.SIGKILL,
    ) as stack:
        yield stack


@pytest.fixture
async def stack(
    tmp_path: Path, audit_url: str, api_cluster: TestCluster | None
) -> AsyncIterator[Stack]:
    """The whole stack with the Tekton simulator driving every run."""
    async with operations_stack(tmp_path, audit_url, cluster=api_cluster) as stack:
        yield stack
