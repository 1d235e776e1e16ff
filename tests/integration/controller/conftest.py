"""The controller's integration stack: the API emulator (in-process, real HTTP), the Tekton
simulator, the audit service on SQLite, and the controller as its own process."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from kubernaut_wfe.constants import Annotation, Label
from kubernaut_wfe.emulator import ApiEmulator
from kubernaut_wfe.tekton_simulator import Pacing, TektonSimulator
from kubernaut_wfe.testing.audit_service import in_process_audit_service

EXECUTION_NAMESPACE = "kubernaut-workflows"
WFE_API = "/apis/kubernaut.ai/v1alpha1"
RUNS_PATH = f"/apis/tekton.dev/v1/namespaces/{EXECUTION_NAMESPACE}/pipelineruns"
HELLO = "quay.io/kubernaut/workflows/hello-world:v1"
FAILING = "quay.io/kubernaut/workflows/failing:v1"
FAST = Pacing(resolution=timedelta(0), pod_start=timedelta(0), cancellation=timedelta(0))
WAIT_TIMEOUT = 40.0
RFC3339 = "%Y-%m-%dT%H:%M:%SZ"


def finished_status(succeeded: str, reason: str, message: str) -> dict[str, Any]:
    """A PipelineRun status with a final `Succeeded` condition (now) and no children."""
    now = datetime.now(UTC)
    started, ended = (now - timedelta(seconds=5)).strftime(RFC3339), now.strftime(RFC3339)
    return {
        "conditions": [
            {
                "type": "Succeeded",
                "status": succeeded,
                "reason": reason,
                "message": message,
                "lastTransitionTime": ended,
            }
        ],
        "startTime": started,
        "completionTime": ended,
    }


def wfe_body(
    name: str,
    *,
    namespace: str = "default",
    target: str | None = None,
    image: str = HELLO,
    parameters: dict[str, str] | None = None,
    timeout: str | None = None,
) -> dict[str, Any]:
    """A valid WorkflowExecution (DELAY_SECONDS 0 unless given)."""
    spec: dict[str, Any] = {
        "remediationRequestRef": {"name": f"rr-{name}"},
        "workflowRef": {
            "workflowId": image.rsplit("/", 1)[-1].split(":", 1)[0],
            "version": "1.0.0",
            "containerImage": image,
        },
        "targetResource": target or f"{namespace}/deployment/{name}",
        "parameters": {"DELAY_SECONDS": "0", **(parameters or {})},
    }
    if timeout is not None:
        spec["executionConfig"] = {"timeout": timeout}
    return {
        "apiVersion": "kubernaut.ai/v1alpha1",
        "kind": "WorkflowExecution",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


@dataclass
class ControllerProcess:
    """`kubernaut-wfe run` as a child process."""

    args: list[str]
    log_path: Path
    process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        log = self.log_path.open("ab")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "kubernaut_wfe", "run", *self.args,
            stdout=log, stderr=log, env=env,
        )  # fmt: skip
        log.close()

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
    """Everything a controller test talks to."""

    emu: ApiEmulator
    client: httpx.AsyncClient
    audit_url: str
    kubeconfig: Path
    tmp_path: Path
    controllers: list[ControllerProcess] = field(default_factory=list)

    async def start_controller(self, *extra: str, cooldown: str = "2s") -> ControllerProcess:
        """Start a controller process; waits until it has reconciled its first watch events."""
        index = len(self.controllers)
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
            self.tmp_path / f"controller-{index}.log",
        )  # fmt: skip
        self.controllers.append(proc)
        await proc.start()
        await self.wait_for(
            lambda: self.emu.request_log.filter(verb="watch", resource="taskruns"),
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

    async def write_run_status(self, name: str, status: dict[str, Any]) -> None:
        """Replace a PipelineRun's status through `/status`, as Tekton does."""
        stored = self.run(name)
        assert stored is not None, f"no PipelineRun {name}"
        run = {**copy.deepcopy(stored), "status": status}  # never mutate the emulator's copy
        response = await self.client.put(f"{RUNS_PATH}/{name}/status", json=run)
        assert response.status_code == 200, response.text

    async def put_run(
        self, name: str, *, holder: str, holder_uid: str, finalizers: list[str] | None = None
    ) -> dict[str, Any]:
        """CREATE a PipelineRun by hand, annotated as held by `holder` (`ns/name`)."""
        body = {
            "apiVersion": "tekton.dev/v1",
            "kind": "PipelineRun",
            "metadata": {
                "name": name,
                "namespace": EXECUTION_NAMESPACE,
                "labels": {Label.WORKFLOW_EXECUTION.value: holder.split("/")[1]},
                "annotations": {
                    Annotation.WORKFLOW_EXECUTION.value: holder,
                    Annotation.WORKFLOW_EXECUTION_UID.value: holder_uid,
                },
                "finalizers": finalizers or [],
            },
            "spec": {
                "pipelineRef": {
                    "resolver": "bundles",
                    "params": [
                        {"name": "bundle", "value": HELLO},
                        {"name": "name", "value": "workflow"},
                        {"name": "kind", "value": "pipeline"},
                    ],
                }
            },
        }
        response = await self.client.post(RUNS_PATH, json=body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def patch_json(self, path: str, patch: Any) -> None:
        response = await self.client.patch(
            path, json=patch, headers={"Content-Type": "application/merge-patch+json"}
        )
        assert response.status_code == 200, response.text

    def run_creations(self) -> int:
        """CREATEs of PipelineRuns served so far (by anyone)."""
        return len(
            [r for r in self.emu.request_log if r.resource == "pipelineruns" and r.verb == "create"]
        )

    def wfe(self, name: str, namespace: str = "default") -> dict[str, Any] | None:
        return self.emu.read("workflowexecutions", namespace, name)

    def run(self, name: str) -> dict[str, Any] | None:
        return self.emu.read("pipelineruns", EXECUTION_NAMESPACE, name)

    def runs(self) -> list[dict[str, Any]]:
        return self.emu.objects("pipelineruns", EXECUTION_NAMESPACE)

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
            await asyncio.sleep(0.05)

    async def wait_phase(
        self, name: str, phase: str, namespace: str = "default", within: float = WAIT_TIMEOUT
    ) -> dict[str, Any]:
        """The WFE once its status.phase is `phase`."""

        def probe() -> dict[str, Any] | None:
            obj = self.wfe(name, namespace)
            if obj is not None and (obj.get("status") or {}).get("phase") == phase:
                return obj
            return None

        found: dict[str, Any] = await self.wait_for(
            probe, what=f"{namespace}/{name} to be {phase}", within=within
        )
        return found

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
    async with in_process_audit_service(f"sqlite:///{tmp_path / 'audit.db'}") as url:
        yield url


@contextlib.asynccontextmanager
async def _stack(tmp_path: Path, audit_url: str, *, simulate: bool) -> AsyncIterator[Stack]:
    emu = ApiEmulator()
    async with (
        emu.serving(host="127.0.0.1", port=0),
        httpx.AsyncClient(base_url=emu.url, timeout=30) as client,
    ):
        for namespace in (EXECUTION_NAMESPACE, "team-a", "team-b"):
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
            (await client.post("/api/v1/namespaces", json=body)).raise_for_status()
        kubeconfig = emu.write_kubeconfig(tmp_path / "kubeconfig")
        stack = Stack(emu, client, audit_url, kubeconfig, tmp_path)
        simulator = TektonSimulator(emu.url, namespaces=[EXECUTION_NAMESPACE], pacing=FAST)
        async with contextlib.AsyncExitStack() as exits:
            if simulate:
                await exits.enter_async_context(simulator)
            try:
                yield stack
            finally:
                emu.faults.clear()
                for controller in stack.controllers:
                    await controller.stop()


@pytest.fixture
async def stack(tmp_path: Path, audit_url: str) -> AsyncIterator[Stack]:
    """The whole stack with the Tekton simulator driving every run."""
    async with _stack(tmp_path, audit_url, simulate=True) as stack:
        yield stack


@pytest.fixture
async def bare_stack(tmp_path: Path, audit_url: str) -> AsyncIterator[Stack]:
    """The stack without Tekton: runs stay as created unless the test writes their status."""
    async with _stack(tmp_path, audit_url, simulate=False) as stack:
        yield stack
