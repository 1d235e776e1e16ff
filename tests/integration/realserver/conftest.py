"""The controller as its own process on the real API server, on the ServiceAccount identity of
`deploy/rbac/`, with the audit service (SQLite) and the Tekton simulator playing Tekton: the
integration stack (`kubernaut_wfe_tools.testing.stack`) always on the real server, whatever
`INTEGRATION_TARGET` says."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
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

RUNS_API = f"/apis/tekton.dev/v1/namespaces/{EXECUTION_NAMESPACE}/pipelineruns"


class ServerStack(IntegrationStack):
    """What a controller test on the real API server talks to: controllers log JSON and count as
    started once their endpoints serve."""

    wait_timeout: ClassVar[float] = 60.0
    poll_interval: ClassVar[float] = 0.1
    controller_log_format: ClassVar[str] = "json"
    controller_ready: ClassVar[Readiness] = "endpoints"

    async def readiness(self, proc: ControllerProcess) -> dict[str, Any]:
        """The controller's `/readyz` answer."""
        ports = proc.ports()
        assert ports is not None
        async with httpx.AsyncClient() as probe:
            answer = await probe.get(f"http://127.0.0.1:{ports['probes']}/readyz")
        body: dict[str, Any] = answer.json()
        return body


@contextlib.asynccontextmanager
async def server_stack(
    cluster: TestCluster, tmp_path: Path, *, node: bool = False
) -> AsyncIterator[ServerStack]:
    """The stack on `cluster` with the audit service on SQLite (and, with `node`, the node
    stand-in for the Job engine); every controller started through it is stopped at the end,
    and the cluster emptied for the next test."""
    async with (
        sqlite_audit_service(tmp_path) as audit_url,
        serving_stack(
            ServerStack,
            tmp_path,
            audit_url,
            cluster=cluster,
            namespaces=(EXECUTION_NAMESPACE,),
            node=node,
        ) as stack,
    ):
        yield stack


@pytest.fixture
async def stack(cluster: TestCluster, tmp_path: Path) -> AsyncIterator[ServerStack]:
    async with server_stack(cluster, tmp_path) as started:
        yield started
