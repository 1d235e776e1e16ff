"""The integration stack the controller's test suites share: the API emulator (in-process, real
HTTP), the Tekton simulator, the audit service, and `kubernaut-wfe run` as a child process.

The controller is never imported here: the suites test it from outside, as it runs in a cluster.
On a timeout the waits raise `AssertionError` with the controllers' logs attached, so a test fails
with the reason in its report.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

import httpx

from kubernaut_wfe import processes
from kubernaut_wfe.emulator import ApiEmulator
from kubernaut_wfe.tekton_simulator import Pacing, TektonSimulator
from kubernaut_wfe.testing.audit_service import in_process_audit_service

EXECUTION_NAMESPACE = "kubernaut-workflows"
"""Where the controller creates its PipelineRuns (its default execution namespace)."""
WFE_API = "/apis/kubernaut.ai/v1alpha1"
RUNS_PATH = f"/apis/tekton.dev/v1/namespaces/{EXECUTION_NAMESPACE}/pipelineruns"
HELLO = "quay.io/kubernaut/workflows/hello-world:v1"
"""A workflow the Tekton simulator runs to success after `DELAY_SECONDS`."""
FAILING = "quay.io/kubernaut/workflows/failing:v1"
"""A workflow the Tekton simulator ends as its `FAILURE_MODE` parameter says."""
FAST = Pacing(resolution=timedelta(0), pod_start=timedelta(0), cancellation=timedelta(0))
"""Tekton with no time between the phases of a run."""
RFC3339 = "%Y-%m-%dT%H:%M:%SZ"

Readiness = Literal["watches", "endpoints", "started"]
"""What `start_controller` waits for: the controller's watches open (seen by the emulator), its
HTTP endpoints serving (as its JSON log says: a controller logging text is not waited for), or
only the process started."""

StackT = TypeVar("StackT", bound="IntegrationStack")


def wfe_body(
    name: str,
    *,
    namespace: str = "default",
    target: str | None = None,
    image: str = HELLO,
    parameters: dict[str, str] | None = None,
    timeout: str | None = None,
    delay_seconds: int = 0,
) -> dict[str, Any]:
    """A valid WorkflowExecution on its own target (`<namespace>/deployment/<name>` unless
    given), correlation id `rr-<name>`; `parameters` win over `delay_seconds`."""
    spec: dict[str, Any] = {
        "remediationRequestRef": {"name": f"rr-{name}"},
        "workflowRef": {
            "workflowId": image.rsplit("/", 1)[-1].split(":", 1)[0],
            "version": "1.0.0",
            "containerImage": image,
        },
        "targetResource": target or f"{namespace}/deployment/{name}",
        "parameters": {"DELAY_SECONDS": str(delay_seconds), **(parameters or {})},
    }
    if timeout is not None:
        spec["executionConfig"] = {"timeout": timeout}
    return {
        "apiVersion": "kubernaut.ai/v1alpha1",
        "kind": "WorkflowExecution",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


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


def json_lines(text: str) -> list[dict[str, Any]]:
    """The log lines that are JSON objects."""
    lines = []
    for line in text.splitlines():
        with contextlib.suppress(ValueError):
            parsed = json.loads(line)
            if isinstance(parsed, dict):
                lines.append(parsed)
    return lines


def sqlite_audit_service(tmp_path: Path) -> contextlib.AbstractAsyncContextManager[str]:
    """The audit service in-process on `<tmp_path>/audit.db`; yields its base URL."""
    return in_process_audit_service(f"sqlite:///{tmp_path / 'audit.db'}")


async def stored_audit_events(audit_url: str, correlation_id: str) -> list[dict[str, Any]]:
    """The audit service's stored events of a correlation id (its first page of 100)."""
    async with httpx.AsyncClient(base_url=audit_url) as client:
        response = await client.get(
            "/api/v1/audit/events", params={"correlation_id": correlation_id, "limit": 100}
        )
        response.raise_for_status()
        data: list[dict[str, Any]] = response.json().get("data") or []
        return data


async def poll_until(
    probe: Callable[[], Any],
    what: str,
    within: float,
    interval: float,
    controllers: Iterable[ControllerProcess],
) -> Any:
    """Poll `probe` (plain or async) until its result is truthy and return it; after `within`
    seconds fail with the controllers' logs attached."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        result = probe()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return result
        if loop.time() > deadline:
            logs = "\n".join(c.log()[-6000:] for c in controllers)
            raise AssertionError(f"timed out waiting for {what}\n--- controller logs ---\n{logs}")
        await asyncio.sleep(interval)


class ControllerProcess(processes.ControllerProcess):
    """`kubernaut-wfe run` as a child process, its output in a file."""

    stop_timeout = 30.0

    async def exited(self, within: float = 60) -> int:
        """The exit code once the process ends by itself (killed after `within`)."""
        code = await self.stop(sig=0, timeout=within)
        assert code is not None, "the controller was never started"
        return code

    def log(self) -> str:
        """Its output so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def ports(self) -> dict[str, int] | None:
        """The bound metrics and probe ports, once logged (JSON logs only)."""
        for line in json_lines(self.log()):
            if line.get("event") == "endpoints serving":
                return {name: int(address[1]) for name, address in line["endpoints"].items()}
        return None

    def identity(self) -> str | None:
        """The holder identity it acquired the Lease with, once it did (JSON logs only)."""
        for line in json_lines(self.log()):
            if line.get("event") == "acquired the leader lease":
                return str(line["identity"])
        return None


@dataclass
class IntegrationStack:
    """Everything a test of the controller process talks to. A suite's subclass sets how long
    its waits last, how often they look, and how its controllers start unless told."""

    emu: ApiEmulator
    client: httpx.AsyncClient
    audit_url: str
    kubeconfig: Path
    tmp_path: Path
    controllers: list[ControllerProcess] = field(default_factory=list, kw_only=True)

    wait_timeout: ClassVar[float] = 40.0
    """How long a wait lasts unless told."""
    poll_interval: ClassVar[float] = 0.05
    """Seconds between two looks of a wait."""
    controller_cooldown: ClassVar[str] = "2s"
    controller_log_format: ClassVar[str] = "text"
    controller_env: ClassVar[Mapping[str, str]] = {}
    """Set over the test's environment for every controller (a call's own `env` over it)."""
    controller_ready: ClassVar[Readiness] = "watches"

    async def start_controller(
        self,
        *extra: str,
        cooldown: str | None = None,
        log_format: str | None = None,
        datastorage_url: str | None = None,
        kubeconfig: Path | None = None,
        env: Mapping[str, str] | None = None,
        ready: Readiness | None = None,
    ) -> ControllerProcess:
        """Start a controller process on free metrics and probe ports (`extra` flags last, so
        they win) and wait until it is `ready`; what is not given is the suite's default."""
        log_format = log_format or self.controller_log_format
        ready = ready or self.controller_ready
        watches_before = self._taskrun_watches()
        proc = ControllerProcess(
            [
                "--kubeconfig", str(kubeconfig or self.kubeconfig),
                "--datastorage-url", datastorage_url or self.audit_url,
                "--cooldown-period", cooldown or self.controller_cooldown,
                "--metrics-bind-address", "127.0.0.1:0",
                "--health-probe-bind-address", "127.0.0.1:0",
                "--log-format", log_format,
                *extra,
            ],
            self.tmp_path / f"controller-{len(self.controllers)}.log",
            {**self.controller_env, **(env or {})},
        )  # fmt: skip
        self.controllers.append(proc)
        await proc.start()
        if ready == "watches":
            await self.wait_for(
                lambda: self._taskrun_watches() > watches_before, what="the controller's watches"
            )
        elif ready == "endpoints" and log_format == "json":
            await self.wait_for(proc.ports, what="the controller's endpoints")
        return proc

    def _taskrun_watches(self) -> int:
        return len(self.emu.request_log.filter(verb="watch", resource="taskruns"))

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
        """DELETE a WFE through the API."""
        response = await self.client.delete(
            f"{WFE_API}/namespaces/{namespace}/workflowexecutions/{name}"
        )
        assert response.status_code in (200, 202), response.text

    def wfe(self, name: str, namespace: str = "default") -> dict[str, Any] | None:
        """The stored WFE, if any."""
        return self.emu.read("workflowexecutions", namespace, name)

    def run(self, name: str) -> dict[str, Any] | None:
        """The stored PipelineRun, if any."""
        return self.emu.read("pipelineruns", EXECUTION_NAMESPACE, name)

    def runs(self) -> list[dict[str, Any]]:
        """Every stored PipelineRun of the execution namespace."""
        return self.emu.objects("pipelineruns", EXECUTION_NAMESPACE)

    async def write_run_status(self, name: str, status: dict[str, Any]) -> None:
        """Replace a PipelineRun's status through `/status`, as Tekton does."""
        await self._replace_status(f"{RUNS_PATH}/{name}", self.run(name), status)

    async def write_wfe_status(
        self, name: str, status: dict[str, Any], namespace: str = "default"
    ) -> None:
        """Replace a WFE's status through `/status` (as a controller before this one did)."""
        path = f"{WFE_API}/namespaces/{namespace}/workflowexecutions/{name}"
        await self._replace_status(path, self.wfe(name, namespace), status)

    async def _replace_status(
        self, path: str, stored: dict[str, Any] | None, status: dict[str, Any]
    ) -> None:
        assert stored is not None, f"nothing stored at {path}"
        document = {**copy.deepcopy(stored), "status": status}  # never mutate the emulator's
        response = await self.client.put(f"{path}/status", json=document)
        assert response.status_code == 200, response.text

    def run_creations(self) -> int:
        """CREATEs of PipelineRuns served so far (by anyone)."""
        return len(self.emu.request_log.filter(verb="create", resource="pipelineruns"))

    async def wait_for(
        self, probe: Callable[[], Any], *, what: str = "condition", within: float | None = None
    ) -> Any:
        """Poll `probe` (a function or a coroutine function) until its result is truthy, and
        return that result; on timeout fail with the controller logs attached."""
        within = self.wait_timeout if within is None else within
        return await poll_until(probe, what, within, self.poll_interval, self.controllers)

    async def wait_phase(
        self, name: str, phase: str, namespace: str = "default", within: float | None = None
    ) -> dict[str, Any]:
        """The WFE once its status.phase is `phase`."""

        def probe() -> dict[str, Any] | None:
            obj = self.wfe(name, namespace)
            return obj if ((obj or {}).get("status") or {}).get("phase") == phase else None

        found: dict[str, Any] = await self.wait_for(
            probe, what=f"{namespace}/{name} to be {phase}", within=within
        )
        return found

    async def audit_events(self, correlation_id: str) -> list[dict[str, Any]]:
        """The audit service's stored events of a correlation id."""
        return await stored_audit_events(self.audit_url, correlation_id)


@contextlib.asynccontextmanager
async def serving_stack(
    new_stack: Callable[..., StackT],
    tmp_path: Path,
    audit_url: str,
    *,
    namespaces: Iterable[str],
    tekton: bool = True,
    crd_paths: list[Path] | None = None,
    client_params: Mapping[str, str] | None = None,
    stop_signal: int = signal.SIGTERM,
) -> AsyncIterator[StackT]:
    """Serve the emulator (with `crd_paths` if given, else its default CRDs) with `namespaces`,
    and, with `tekton`, the simulator driving every run of the execution namespace; yields
    `new_stack(emu=, client=, audit_url=, kubeconfig=, tmp_path=)`. At the end the emulator's
    faults are cleared and every controller started through the stack is stopped with
    `stop_signal`. `client_params` go on every request of the stack's client (the namespaces'
    creation included)."""
    emu = ApiEmulator(crd_paths=crd_paths)
    async with (
        emu.serving(host="127.0.0.1", port=0),
        httpx.AsyncClient(base_url=emu.url, params=dict(client_params or {}), timeout=30) as client,
    ):
        for namespace in namespaces:
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
            (await client.post("/api/v1/namespaces", json=body)).raise_for_status()
        stack = new_stack(
            emu=emu,
            client=client,
            audit_url=audit_url,
            kubeconfig=emu.write_kubeconfig(tmp_path / "kubeconfig"),
            tmp_path=tmp_path,
        )
        async with contextlib.AsyncExitStack() as exits:
            if tekton:
                simulator = TektonSimulator(emu.url, namespaces=[EXECUTION_NAMESPACE], pacing=FAST)
                await exits.enter_async_context(simulator)
            try:
                yield stack
            finally:
                emu.faults.clear()
                for controller in stack.controllers:
                    await controller.stop(stop_signal)
