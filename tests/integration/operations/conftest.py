"""The operations stack: the API emulator (in-process, real HTTP), the Tekton simulator, the audit
service on SQLite, and controllers as their own processes, each with its probe and metrics
ports read from its JSON log."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from kubernaut_wfe.emulator import ApiEmulator
from kubernaut_wfe.tekton_simulator import Pacing, TektonSimulator
from kubernaut_wfe.testing.audit_service import in_process_audit_service

EXECUTION_NAMESPACE = "kubernaut-workflows"
CONTROLLER_NAMESPACE = "kubernaut-system"
LEASE_NAME = "workflowexecution.kubernaut.ai"
WFE_API = "/apis/kubernaut.ai/v1alpha1"
HELLO = "quay.io/kubernaut/workflows/hello-world:v1"
FAST = Pacing(resolution=timedelta(0), pod_start=timedelta(0), cancellation=timedelta(0))
WAIT_TIMEOUT = 60.0
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


def wfe_body(name: str, *, delay_seconds: int = 0) -> dict[str, Any]:
    """A valid WorkflowExecution in `default` on its own target."""
    return {
        "apiVersion": "kubernaut.ai/v1alpha1",
        "kind": "WorkflowExecution",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "remediationRequestRef": {"name": f"rr-{name}"},
            "workflowRef": {
                "workflowId": "hello-world",
                "version": "1.0.0",
                "containerImage": HELLO,
            },
            "targetResource": f"default/deployment/{name}",
            "parameters": {"DELAY_SECONDS": str(delay_seconds)},
        },
    }


def json_lines(text: str) -> list[dict[str, Any]]:
    """The log lines that are JSON objects."""
    lines = []
    for line in text.splitlines():
        with contextlib.suppress(ValueError):
            parsed = json.loads(line)
            if isinstance(parsed, dict):
                lines.append(parsed)
    return lines


@dataclass
class ControllerProcess:
    """`kubernaut-wfe run` as a child process, its output in a file."""

    args: list[str]
    log_path: Path
    env: dict[str, str]
    process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "kubernaut_wfe", "run", *self.args,
            stdout=log, stderr=log, env=self.env,
        )  # fmt: skip
        log.close()

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:  # noqa: ASYNC109
        """Send `sig` and wait for the exit code (a process still running after `timeout` is
        killed, so its code is then -9)."""
        assert self.process is not None
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(sig)
        try:
            return await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            return await self.process.wait()

    async def exited(self, within: float = WAIT_TIMEOUT) -> int:
        """The exit code once the process ends by itself (killed after `within`)."""
        return await self.stop(sig=0, timeout=within)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def ports(self) -> dict[str, int] | None:
        """The bound metrics and probe ports, once logged."""
        for line in json_lines(self.log()):
            if line.get("event") == "endpoints serving":
                return {name: int(address[1]) for name, address in line["endpoints"].items()}
        return None

    def identity(self) -> str | None:
        """The holder identity it acquired the Lease with, once it did."""
        for line in json_lines(self.log()):
            if line.get("event") == "acquired the leader lease":
                return str(line["identity"])
        return None


@dataclass
class Stack:
    """Everything an operations test talks to."""

    emu: ApiEmulator
    client: httpx.AsyncClient
    audit_url: str
    kubeconfig: Path
    tmp_path: Path
    controllers: list[ControllerProcess] = field(default_factory=list)

    async def start_controller(
        self,
        *extra: str,
        datastorage_url: str | None = None,
        kubeconfig: Path | None = None,
        log_format: str = "json",
    ) -> ControllerProcess:
        """Start a controller process; waits until its HTTP endpoints serve."""
        index = len(self.controllers)
        proc = ControllerProcess(
            [
                "--kubeconfig", str(kubeconfig or self.kubeconfig),
                "--datastorage-url", datastorage_url or self.audit_url,
                "--cooldown-period", "1s",
                "--metrics-bind-address", "127.0.0.1:0",
                "--health-probe-bind-address", "127.0.0.1:0",
                "--log-format", log_format,
                *extra,
            ],
            self.tmp_path / f"controller-{index}.log",
            {**os.environ, "PYTHONUNBUFFERED": "1", "POD_NAMESPACE": CONTROLLER_NAMESPACE},
        )  # fmt: skip
        self.controllers.append(proc)
        await proc.start()
        if log_format == "json":
            await self.wait_for(proc.ports, what="the controller's endpoints")
        return proc

    async def probe(self, proc: ControllerProcess, path: str) -> httpx.Response:
        """GET a probe or metrics path of a controller."""
        ports = proc.ports()
        assert ports is not None
        port = ports["metrics"] if path == "/metrics" else ports["probes"]
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.get(f"http://127.0.0.1:{port}{path}")

    async def create(self, body: dict[str, Any]) -> None:
        """CREATE a WFE through the API."""
        response = await self.client.post(
            f"{WFE_API}/namespaces/default/workflowexecutions", json=body
        )
        assert response.status_code == 201, response.text

    def wfe(self, name: str) -> dict[str, Any] | None:
        return self.emu.read("workflowexecutions", "default", name)

    def phase(self, name: str) -> str | None:
        obj = self.wfe(name) or {}
        phase = (obj.get("status") or {}).get("phase")
        return str(phase) if phase else None

    def lease(self) -> dict[str, Any] | None:
        return self.emu.read("leases", CONTROLLER_NAMESPACE, LEASE_NAME)

    def holder(self) -> str | None:
        spec = (self.lease() or {}).get("spec") or {}
        holder = spec.get("holderIdentity")
        return str(holder) if holder is not None else None

    def run_creations(self) -> int:
        return len(self.emu.request_log.filter(verb="create", resource="pipelineruns"))

    async def wait_for(
        self, probe: Callable[[], Any], *, what: str = "condition", within: float = WAIT_TIMEOUT
    ) -> Any:
        """Poll `probe` until truthy; on timeout fail with the controller logs attached."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            result = probe()
            if isinstance(result, Awaitable):
                result = await result
            if result:
                return result
            if loop.time() > deadline:
                logs = "\n".join(c.log()[-6000:] for c in self.controllers)
                pytest.fail(f"timed out waiting for {what}\n--- controller logs ---\n{logs}")
            await asyncio.sleep(0.1)

    async def wait_phase(self, name: str, phase: str) -> None:
        await self.wait_for(lambda: self.phase(name) == phase, what=f"{name} to be {phase}")

    async def audit_events(self, correlation_id: str) -> list[dict[str, Any]]:
        """The audit service's stored events of a correlation id."""
        async with httpx.AsyncClient(base_url=self.audit_url) as client:
            response = await client.get(
                "/api/v1/audit/events", params={"correlation_id": correlation_id, "limit": 100}
            )
            response.raise_for_status()
            data: list[dict[str, Any]] = response.json().get("data") or []
            return data


@pytest.fixture
async def audit_url(tmp_path: Path) -> AsyncIterator[str]:
    """The audit service on SQLite, serving until the test ends."""
    async with in_process_audit_service(f"sqlite:///{tmp_path / 'audit.db'}") as url:
        yield url


@contextlib.asynccontextmanager
async def operations_stack(
    tmp_path: Path, audit_url: str, *, crd_paths: list[Path] | None = None
) -> AsyncIterator[Stack]:
    """The emulator (with `crd_paths` if given), namespaces, the Tekton simulator when the
    Tekton CRDs are there; controllers started through the stack are stopped at the end."""
    emu = ApiEmulator(crd_paths=crd_paths)
    async with (
        emu.serving(host="127.0.0.1", port=0),
        httpx.AsyncClient(base_url=emu.url, timeout=30) as client,
    ):
        for namespace in (EXECUTION_NAMESPACE, CONTROLLER_NAMESPACE):
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
            (await client.post("/api/v1/namespaces", json=body)).raise_for_status()
        kubeconfig = emu.write_kubeconfig(tmp_path / "kubeconfig")
        stack = Stack(emu, client, audit_url, kubeconfig, tmp_path)
        async with contextlib.AsyncExitStack() as exits:
            if crd_paths is None:
                simulator = TektonSimulator(emu.url, namespaces=[EXECUTION_NAMESPACE], pacing=FAST)
                await exits.enter_async_context(simulator)
            try:
                yield stack
            finally:
                emu.faults.clear()
                for controller in stack.controllers:
                    await controller.stop(signal.SIGKILL)


@pytest.fixture
async def stack(tmp_path: Path, audit_url: str) -> AsyncIterator[Stack]:
    """The whole stack with the Tekton simulator driving every run."""
    async with operations_stack(tmp_path, audit_url) as stack:
        yield stack
