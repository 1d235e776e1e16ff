"""The integration stack the controller's test suites share: an API server (the real one, or the
emulator: `kubernaut_wfe_tools.testing.targets`), the Tekton simulator, the audit service, and
`kubernaut-wfe run` as a child process.

The controller is never imported here: the suites test it from outside, as it runs in a cluster.
On a timeout the waits raise `AssertionError` with the controllers' logs attached, so a test fails
with the reason in its report.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

import httpx

from kubernaut_wfe_tools import processes
from kubernaut_wfe_tools.emulator.faults import FaultInjector
from kubernaut_wfe_tools.node_simulator import NodeSimulator
from kubernaut_wfe_tools.tekton_simulator import Pacing, TektonSimulator
from kubernaut_wfe_tools.testing.audit_service import in_process_audit_service
from kubernaut_wfe_tools.testing.targets import (
    CONTROLLER_NAMESPACE,
    WFE_API,
    ApiTarget,
    Requests,
    cluster_target,
    emulator_target,
    ensure_namespaces,
    reset_cluster,
)
from kubernaut_wfe_tools.testing.testcluster import TestCluster

EXECUTION_NAMESPACE = "kubernaut-workflows"
"""Where the controller creates its PipelineRuns (its default execution namespace)."""
RUNS_PATH = f"/apis/tekton.dev/v1/namespaces/{EXECUTION_NAMESPACE}/pipelineruns"
HELLO = "quay.io/kubernaut/workflows/hello-world:v1"
"""A workflow the Tekton simulator runs to success after `DELAY_SECONDS`."""
FAILING = "quay.io/kubernaut/workflows/failing:v1"
"""A workflow the Tekton simulator ends as its `FAILURE_MODE` parameter says."""
FAST = Pacing(resolution=timedelta(0), pod_start=timedelta(0), cancellation=timedelta(0))
"""Tekton with no time between the phases of a run."""
RFC3339 = "%Y-%m-%dT%H:%M:%SZ"

Readiness = Literal["watches", "endpoints", "started"]
"""What `start_controller` waits for: the controller's watches open (seen by the API server), its
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

    api: ApiTarget
    client: httpx.AsyncClient
    """An admin client of the API server."""
    audit_url: str
    tmp_path: Path
    controllers: list[ControllerProcess] = field(default_factory=list, kw_only=True)
    forbidden_expected: bool = field(default=False, kw_only=True)
    """On the real server every test ends checking that the API server refused none of the
    controller's requests (403: a rule missing from deploy/rbac/); a test that takes a permission
    away on purpose sets this."""

    wait_timeout: ClassVar[float] = 40.0
    """How long a wait lasts unless told."""
    poll_interval: ClassVar[float] = 0.05
    """Seconds between two looks of a wait."""
    controller_cooldown: ClassVar[str] = "2s"
    controller_log_format: ClassVar[str] = "text"
    controller_env: ClassVar[Mapping[str, str]] = {}
    """Set over the test's environment for every controller (a call's own `env` over it)."""
    controller_ready: ClassVar[Readiness] = "watches"

    @property
    def kubeconfig(self) -> Path:
        """The controller's kubeconfig (on the real server: its ServiceAccount, through the
        fault proxy)."""
        return self.api.controller_kubeconfig

    @property
    def faults(self) -> FaultInjector:
        """Fault rules on the controller's requests."""
        return self.api.faults

    @property
    def requests(self) -> Requests:
        """The controller's requests so far."""
        return self.api.requests

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
        return len(self.requests.filter(verb="watch", resource="taskruns"))

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

    async def read(self, path: str) -> dict[str, Any] | None:
        """GET an object (None when there is none)."""
        response = await self.client.get(path)
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    async def items(self, path: str) -> list[dict[str, Any]]:
        """LIST a collection."""
        listing = await self.read(path)
        return list((listing or {}).get("items") or [])

    async def wfe(self, name: str, namespace: str = "default") -> dict[str, Any] | None:
        """The stored WFE, if any."""
        return await self.read(f"{WFE_API}/namespaces/{namespace}/workflowexecutions/{name}")

    async def run(self, name: str) -> dict[str, Any] | None:
        """The stored PipelineRun, if any."""
        return await self.read(f"{RUNS_PATH}/{name}")

    async def runs(self, namespace: str = EXECUTION_NAMESPACE) -> list[dict[str, Any]]:
        """Every stored PipelineRun of a namespace (the execution namespace unless told)."""
        return await self.items(f"/apis/tekton.dev/v1/namespaces/{namespace}/pipelineruns")

    async def events(self, namespace: str = "default") -> list[dict[str, Any]]:
        """The Kubernetes Events of a namespace."""
        return await self.items(f"/api/v1/namespaces/{namespace}/events")

    async def write_run_status(self, name: str, status: dict[str, Any]) -> None:
        """Replace a PipelineRun's status through `/status`, as Tekton does."""
        await self._replace_status(f"{RUNS_PATH}/{name}", status)

    async def write_wfe_status(
        self, name: str, status: dict[str, Any], namespace: str = "default"
    ) -> None:
        """Replace a WFE's status through `/status` (as a controller before this one did)."""
        await self._replace_status(
            f"{WFE_API}/namespaces/{namespace}/workflowexecutions/{name}", status
        )

    async def _replace_status(self, path: str, status: dict[str, Any]) -> None:
        for _ in range(5):  # a 409: someone wrote in between; read again
            stored = await self.read(path)
            assert stored is not None, f"nothing stored at {path}"
            response = await self.client.put(f"{path}/status", json={**stored, "status": status})
            if response.status_code != 409:
                break
        assert response.status_code == 200, response.text

    def run_creations(self) -> int:
        """CREATEs of PipelineRuns the controller sent so far."""
        return len(self.requests.filter(verb="create", resource="pipelineruns"))

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

        async def probe() -> dict[str, Any] | None:
            obj = await self.wfe(name, namespace)
            return obj if ((obj or {}).get("status") or {}).get("phase") == phase else None

        found: dict[str, Any] = await self.wait_for(
            probe, what=f"{namespace}/{name} to be {phase}", within=within
        )
        return found

    async def wait_gone(self, path: str, *, what: str = "", within: float | None = None) -> None:
        """Wait until nothing is stored at `path`."""

        async def gone() -> bool:
            return await self.read(path) is None

        await self.wait_for(gone, what=what or f"{path} to go", within=within)

    async def wait_wfe_gone(self, name: str, namespace: str = "default") -> None:
        """Wait until the WFE is deleted."""
        path = f"{WFE_API}/namespaces/{namespace}/workflowexecutions/{name}"
        await self.wait_gone(path, what=f"{namespace}/{name} to go")

    async def wait_run_gone(self, name: str) -> None:
        """Wait until the PipelineRun is deleted (its lock released)."""
        await self.wait_gone(f"{RUNS_PATH}/{name}", what=f"the run {name} to go")

    async def audit_events(self, correlation_id: str) -> list[dict[str, Any]]:
        """The audit service's stored events of a correlation id."""
        return await stored_audit_events(self.audit_url, correlation_id)


@contextlib.asynccontextmanager
async def serving_stack(
    new_stack: Callable[..., StackT],
    tmp_path: Path,
    audit_url: str,
    *,
    cluster: TestCluster | None,
    namespaces: Iterable[str],
    tekton: bool = True,
    node: bool = False,
    crd_paths: list[Path] | None = None,
    client_params: Mapping[str, str] | None = None,
    stop_signal: int = signal.SIGTERM,
) -> AsyncIterator[StackT]:
    """Serve the stack on `cluster` (the real API server), or on a fresh emulator when it is None
    (with `crd_paths` if given, else its default CRDs), with `namespaces`, and, with `tekton`, the
    simulator driving every run of the execution namespace, and, with `node` on the real server,
    the node stand-in playing the kubelet for the pods of its Jobs (kube-controller-manager's Job
    controller runs them); yields `new_stack(api=, client=,
    audit_url=, tmp_path=)`. On the real server, the namespaces are first emptied of what an
    earlier test left (`reset_cluster`). At the end the faults are cleared, every controller
    started through the stack is stopped with `stop_signal`, and the API server must have refused
    none of the controller's requests. `client_params` go on every request of the stack's
    client."""
    if cluster is not None and crd_paths is not None:
        raise ValueError("other CRDs are for the emulator: the real server's are installed")
    target = (
        emulator_target(tmp_path, crd_paths=crd_paths)
        if cluster is None
        else cluster_target(cluster, tmp_path)
    )
    async with (
        target as api,
        httpx.AsyncClient(
            base_url=api.url, verify=api.verify, params=dict(client_params or {}), timeout=30
        ) as client,
    ):
        if cluster is not None:
            # Whatever an earlier test left (the session's tests share one cluster); a test
            # that fails half-way is cleaned up after by the next one.
            to_reset = {*namespaces, "default", EXECUTION_NAMESPACE, CONTROLLER_NAMESPACE}
            await reset_cluster(client, to_reset)
        await ensure_namespaces(client, namespaces)
        stack = new_stack(api=api, client=client, audit_url=audit_url, tmp_path=tmp_path)
        async with contextlib.AsyncExitStack() as exits:
            if tekton:
                tls = api.verify if isinstance(api.verify, ssl.SSLContext) else None
                simulator = TektonSimulator(
                    api.url, namespaces=[EXECUTION_NAMESPACE], pacing=FAST, tls=tls
                )
                await exits.enter_async_context(simulator)
            if node:
                if cluster is None:
                    raise ValueError("the node stand-in plays a node of the real API server")
                tls = api.verify if isinstance(api.verify, ssl.SSLContext) else None
                kubelet = NodeSimulator(api.url, namespaces=[EXECUTION_NAMESPACE], tls=tls)
                await exits.enter_async_context(kubelet)
            try:
                yield stack
            finally:
                api.faults.clear()
                for controller in stack.controllers:
                    await controller.stop(stop_signal)
            refused = [f"{r.verb} {r.path}" for r in api.requests.forbidden_by_server()]
            assert stack.forbidden_expected or not refused, (
                "the API server refused the controller's ServiceAccount (403), so "
                f"deploy/rbac/ lacks a rule: {refused}"
            )
