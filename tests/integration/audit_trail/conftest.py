"""The audit-trail stack: the API emulator (in-process, real HTTP), the Tekton simulator, the
controller as its own process, and the audit service (in-process, or a process of its own)."""

from __future__ import annotations

import asyncio
import contextlib
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

from kubernaut_wfe.constants import ConditionReason, ConditionType, Phase
from kubernaut_wfe.emulator import ApiEmulator
from kubernaut_wfe.tekton_simulator import Pacing, TektonSimulator
from kubernaut_wfe.testing.audit_service import in_process_audit_service

from .trail import SpecJudges, query_trail  # noqa: TID252

EXECUTION_NAMESPACE = "kubernaut-workflows"
WFE_API = "/apis/kubernaut.ai/v1alpha1"
HELLO = "quay.io/kubernaut/workflows/hello-world:v1"
FAILING = "quay.io/kubernaut/workflows/failing:v1"
FAST = Pacing(resolution=timedelta(0), pod_start=timedelta(0), cancellation=timedelta(0))
WAIT_TIMEOUT = 60.0
TERMINAL = (Phase.COMPLETED, Phase.FAILED)


def wfe_body(
    name: str,
    *,
    namespace: str = "default",
    target: str | None = None,
    image: str = HELLO,
    parameters: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A valid WorkflowExecution (DELAY_SECONDS 0 unless given; correlation id `rr-<name>`)."""
    return {
        "apiVersion": "kubernaut.ai/v1alpha1",
        "kind": "WorkflowExecution",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "remediationRequestRef": {"name": f"rr-{name}"},
            "workflowRef": {
                "workflowId": image.rsplit("/", 1)[-1].split(":", 1)[0],
                "version": "1.0.0",
                "containerImage": image,
            },
            "targetResource": target or f"{namespace}/deployment/{name}",
            "parameters": {"DELAY_SECONDS": "0", **(parameters or {})},
        },
    }


def condition(obj: dict[str, Any] | None, kind: ConditionType) -> dict[str, Any] | None:
    """The WFE's condition of type `kind`, if any."""
    for found in ((obj or {}).get("status") or {}).get("conditions") or []:
        if found["type"] == kind:
            return dict(found)
    return None


def audit_reason(obj: dict[str, Any] | None) -> str | None:
    """`AuditRecorded`'s reason (AuditSucceeded only when its status is True)."""
    found = condition(obj, ConditionType.AUDIT_RECORDED)
    return None if found is None else str(found["reason"])


def audit_succeeded(obj: dict[str, Any] | None) -> bool:
    found = condition(obj, ConditionType.AUDIT_RECORDED)
    return bool(
        found and found["status"] == "True" and found["reason"] == ConditionReason.AUDIT_SUCCEEDED
    )


@dataclass
class ControllerProcess:
    """`kubernaut-wfe run` as a child process."""

    args: list[str]
    log_path: Path
    process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "kubernaut_wfe", "run", *self.args,
                stdout=log, stderr=log, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:  # noqa: ASYNC109
        """Send `sig` and wait for the exit code."""
        assert self.process is not None
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(sig)
        try:
            return await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            return await self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@dataclass
class Stack:
    """Everything an audit-trail test talks to."""

    emu: ApiEmulator
    client: httpx.AsyncClient
    audit_url: str
    kubeconfig: Path
    tmp_path: Path
    judges: SpecJudges
    controllers: list[ControllerProcess] = field(default_factory=list)

    async def start_controller(self, *extra: str, cooldown: str = "2s") -> ControllerProcess:
        """Start a controller process; waits until its watches are open."""
        watches_before = len(self.emu.request_log.filter(verb="watch", resource="taskruns"))
        proc = ControllerProcess(
            [
                "--kubeconfig", str(self.kubeconfig),
                "--datastorage-url", self.audit_url,
                "--cooldown-period", cooldown,
                "--metrics-bind-address", "127.0.0.1:0",
                "--health-probe-bind-address", "127.0.0.1:0",
                "--log-format", "text",
                *extra,
            ],
            self.tmp_path / f"controller-{len(self.controllers)}.log",
        )  # fmt: skip
        self.controllers.append(proc)
        await proc.start()
        await self.wait_for(
            lambda: (
                len(self.emu.request_log.filter(verb="watch", resource="taskruns")) > watches_before
            ),
            what="the controller's watches",
        )
        return proc

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """CREATE a WFE through the API."""
        namespace = body["metadata"]["namespace"]
        response = await self.client.post(
            f"{WFE_API}/namespaces/{namespace}/workflowexecutions", json=body
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def delete(self, name: str, namespace: str = "default") -> None:
        response = await self.client.delete(
            f"{WFE_API}/namespaces/{namespace}/workflowexecutions/{name}"
        )
        assert response.status_code in (200, 202), response.text

    def wfe(self, name: str, namespace: str = "default") -> dict[str, Any] | None:
        return self.emu.read("workflowexecutions", namespace, name)

    def run_creations(self) -> int:
        """CREATEs of PipelineRuns served so far."""
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

    async def wait_phase(
        self, name: str, phase: str, namespace: str = "default", within: float = WAIT_TIMEOUT
    ) -> dict[str, Any]:
        """The WFE once its status.phase is `phase`."""

        def probe() -> dict[str, Any] | None:
            obj = self.wfe(name, namespace)
            return obj if ((obj or {}).get("status") or {}).get("phase") == phase else None

        found: dict[str, Any] = await self.wait_for(
            probe, what=f"{namespace}/{name} to be {phase}", within=within
        )
        return found

    async def wait_audited(self, name: str, within: float = WAIT_TIMEOUT) -> dict[str, Any]:
        """The WFE once terminal with `AuditRecorded` True/AuditSucceeded (every due event
        acknowledged)."""

        def probe() -> dict[str, Any] | None:
            obj = self.wfe(name)
            terminal = ((obj or {}).get("status") or {}).get("phase") in TERMINAL
            return obj if terminal and audit_succeeded(obj) else None

        found: dict[str, Any] = await self.wait_for(
            probe, what=f"{name}'s AuditRecorded True", within=within
        )
        return found

    async def trail(self, correlation_id: str) -> list[dict[str, Any]]:
        """The stored events of `correlation_id`, each query response checked by both specs."""
        return await query_trail(self.audit_url, correlation_id, self.judges)


@pytest.fixture(scope="session")
def judges() -> SpecJudges:
    """The project's spec and the real DataStorage spec (skipped off CI when it is absent)."""
    return SpecJudges()


@contextlib.asynccontextmanager
async def make_stack(tmp_path: Path, audit_url: str, judges: SpecJudges) -> AsyncIterator[Stack]:
    """Emulator, simulator and the means to start controllers; stops them all on exit."""
    emu = ApiEmulator()
    async with (
        emu.serving(host="127.0.0.1", port=0),
        httpx.AsyncClient(base_url=emu.url, timeout=30) as client,
    ):
        for namespace in (EXECUTION_NAMESPACE, "team-a"):
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
            (await client.post("/api/v1/namespaces", json=body)).raise_for_status()
        kubeconfig = emu.write_kubeconfig(tmp_path / "kubeconfig")
        stack = Stack(emu, client, audit_url, kubeconfig, tmp_path, judges)
        simulator = TektonSimulator(emu.url, namespaces=[EXECUTION_NAMESPACE], pacing=FAST)
        async with simulator:
            try:
                yield stack
            finally:
                emu.faults.clear()
                for controller in stack.controllers:
                    await controller.stop()


@pytest.fixture
async def stack(tmp_path: Path, judges: SpecJudges) -> AsyncIterator[Stack]:
    """The whole stack with the audit service in-process on a SQLite file."""
    async with (
        in_process_audit_service(f"sqlite:///{tmp_path / 'audit.db'}") as audit_url,
        make_stack(tmp_path, audit_url, judges) as stack,
    ):
        yield stack
