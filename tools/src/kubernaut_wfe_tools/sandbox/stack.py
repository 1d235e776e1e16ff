"""Starting and stopping the sandbox's stack, and the `sandbox.json` state file.

In this process: the API emulator with the Tekton simulator and the node stand-in (a kubelet,
and the Job controller the emulator lacks) as its companions (or, with `api="cluster"`, a real
control plane as child processes, whose kube-controller-manager runs the Jobs, and the simulator
and the stand-in, as a kubelet only, against it), and the audit service on a fresh SQLite
database. As its own process: the controller.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TextIO

import structlog

from kubernaut_wfe.audit_service.server import serve
from kubernaut_wfe_tools import node_simulator, tekton_simulator
from kubernaut_wfe_tools.emulator import ApiEmulator
from kubernaut_wfe_tools.node_simulator import NodeSimulator
from kubernaut_wfe_tools.processes import ControllerProcess, free_port
from kubernaut_wfe_tools.tekton_simulator import TektonSimulator

if TYPE_CHECKING:
    from kubernaut_wfe_tools.testing.testcluster import TestCluster

STATE_FILE_NAME = "sandbox.json"
KUBECONFIG_NAME = "kubeconfig"
DATABASE_NAME = "audit.db"
CONTROLLER_LOG_NAME = "controller.log"
CLUSTER_DIR_NAME = "cluster"
"""With `--api cluster`: the control plane's files (PKI, kubeconfigs, etcd data, logs)."""
SERVICES_LOG_NAME = "services.log"
"""The in-process services' logs: the audit service's access log, the simulator's warnings."""
OWN_FILES = (
    STATE_FILE_NAME,
    KUBECONFIG_NAME,
    DATABASE_NAME,
    CONTROLLER_LOG_NAME,
    SERVICES_LOG_NAME,
)


ApiKind = Literal["emulator", "cluster"]
API_KINDS: tuple[ApiKind, ...] = ("emulator", "cluster")


class StackError(Exception):
    """The stack could not start; the message says which part and why."""


@dataclass(frozen=True)
class StackOptions:
    state_dir: Path
    api: ApiKind = "emulator"
    """`emulator`: the in-process API emulator; `cluster`: the real API server (test cluster)."""
    cluster_binaries: Path | None = None
    """With `api="cluster"`: the binaries' directory (None: the built ones, if any)."""
    host: str = "127.0.0.1"
    api_port: int = 0
    audit_port: int = 0
    metrics_port: int = 0
    health_port: int = 0
    cooldown_period: str = "10s"
    execution_namespace: str = "kubernaut-workflows"
    controller_log_format: str = "text"
    ready_timeout: float = 60.0


@dataclass(frozen=True)
class Endpoints:
    """What a client of the sandbox needs; written to `sandbox.json` once everything is ready."""

    pid: int
    state_dir: str
    kubeconfig: str
    api_server: str
    audit_url: str
    metrics_url: str
    health_url: str
    controller_pid: int
    controller_log: str
    execution_namespace: str
    api: ApiKind = "emulator"
    """What serves `api_server`; on `cluster`, `kubeconfig` is the cluster admin's (client
    certificate) and the controller runs on its ServiceAccount."""

    def to_json(self) -> dict[str, Any]:
        """camelCase keys, as in the state file."""
        return {_camel(key): value for key, value in asdict(self).items()}

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Endpoints:
        """From the state file; a key it lacks keeps its default (a missing required one is a
        TypeError)."""
        return cls(
            **{
                key: document[_camel(key)]
                for key in cls.__dataclass_fields__
                if _camel(key) in document
            }
        )


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


@dataclass
class Stack:
    controller: ControllerProcess
    endpoints: Endpoints
    api_tls: ssl.SSLContext | None = None
    """How a client verifies the API server and authenticates as its admin (None: the emulator,
    plain HTTP without authentication)."""
    emulator: ApiEmulator | None = None
    cluster: TestCluster | None = None


@dataclass(frozen=True)
class _Api:
    """The API server the stack runs on, ready."""

    url: str
    kubeconfig: Path
    """The admin's kubeconfig, for people, kubectl and the e2e tests."""
    controller_kubeconfig: Path
    tls: ssl.SSLContext | None = None
    emulator: ApiEmulator | None = None
    cluster: TestCluster | None = None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def prepare_state_dir(state_dir: Path) -> None:
    """Create the directory and remove a previous sandbox's files; refuse while one still runs."""
    state_dir.mkdir(parents=True, exist_ok=True)
    state_file = state_dir / STATE_FILE_NAME
    if state_file.exists():
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            previous = json.loads(state_file.read_text(encoding="utf-8"))
            pid = int(previous["pid"])
            if pid != os.getpid() and _pid_alive(pid):
                raise StackError(
                    f"another sandbox (pid {pid}) uses {state_dir}; stop it or pass --state-dir"
                )
    for name in OWN_FILES:
        (state_dir / name).unlink(missing_ok=True)
    if _is_cluster_dir(state_dir / CLUSTER_DIR_NAME):
        shutil.rmtree(state_dir / CLUSTER_DIR_NAME, ignore_errors=True)


def _is_cluster_dir(path: Path) -> bool:
    """A control plane's directory, as the test cluster lays it out (never someone else's)."""
    return (path / "bin").is_symlink() and (path / "logs").is_dir()


def _route_service_logs(stream: TextIO) -> None:
    """The in-process services log to a file: stdout stays free for `--output json`."""
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.PrintLoggerFactory(stream),
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


@contextlib.asynccontextmanager
async def _audit_service(options: StackOptions) -> AsyncIterator[str]:
    database = f"sqlite:///{(options.state_dir / DATABASE_NAME).resolve()}"
    stop = asyncio.Event()
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        serve(options.host, options.audit_port, database, stop=stop, on_ready=ready.set_result)
    )

    def report_early_exit(done: asyncio.Task[None]) -> None:
        if not ready.done():
            error = None if done.cancelled() else done.exception()
            ready.set_exception(StackError(f"the audit service did not start: {error}"))

    task.add_done_callback(report_early_exit)
    url = await ready
    try:
        yield url
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await task


def _write_state(path: Path, endpoints: Endpoints) -> None:
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(endpoints.to_json(), indent=2) + "\n", encoding="utf-8")
    partial.replace(path)


@contextlib.asynccontextmanager
async def _emulator_api(options: StackOptions, state_dir: Path) -> AsyncIterator[_Api]:
    """The API emulator serving, the Tekton simulator and the node stand-in (playing the Job
    controller too) as its companions."""
    emulator = ApiEmulator()
    emulator.companions.append(tekton_simulator.companion())
    emulator.companions.append(node_simulator.companion(namespaces=[options.execution_namespace]))
    async with emulator.serving(host=options.host, port=options.api_port):
        kubeconfig = await asyncio.to_thread(emulator.write_kubeconfig, state_dir / KUBECONFIG_NAME)
        yield _Api(emulator.url, kubeconfig, kubeconfig, emulator=emulator)


def _copy_kubeconfig(source: Path, target: Path) -> Path:
    """The admin kubeconfig where the emulator's would be (its CA and certificate paths are
    absolute), private to the user."""
    target.unlink(missing_ok=True)
    shutil.copyfile(source, target)
    target.chmod(0o600)
    return target


@contextlib.asynccontextmanager
async def _cluster_api(
    options: StackOptions, state_dir: Path, progress: Callable[[str], None]
) -> AsyncIterator[_Api]:
    """A real control plane under `<state-dir>/cluster` and the Tekton simulator and the node
    stand-in (a kubelet: kube-controller-manager runs the Jobs) against it, as the admin; the
    controller gets the ServiceAccount kubeconfig, as in a cluster."""
    # Imported here: the emulator's sandbox loads nothing of the test cluster.
    from kubernaut_wfe_tools.sandbox.cluster import NOT_BUILT, find_binaries
    from kubernaut_wfe_tools.testing.testcluster import ClusterError, owned_cluster

    binaries = options.cluster_binaries or await asyncio.to_thread(find_binaries)
    if binaries is None:
        raise StackError(NOT_BUILT)
    root = state_dir / CLUSTER_DIR_NAME
    if root.exists():
        raise StackError(f"{root} exists and is not a sandbox's: remove it or pass --state-dir")
    progress(f"starting the real API server (kube-apiserver, etcd, controller-manager) in {root}")
    try:
        async with owned_cluster(root, binaries) as cluster:
            kubeconfig = await asyncio.to_thread(
                _copy_kubeconfig, cluster.admin_kubeconfig, state_dir / KUBECONFIG_NAME
            )
            tls = await asyncio.to_thread(cluster.tls)
            namespaces = [options.execution_namespace]
            async with (
                TektonSimulator(cluster.url, tls=tls),
                NodeSimulator(cluster.url, namespaces=namespaces, tls=tls),
            ):
                yield _Api(
                    cluster.url, kubeconfig, cluster.controller_kubeconfig, tls, cluster=cluster
                )
    except ClusterError as error:
        raise StackError(f"the API server did not start: {error}") from error


def _api(
    options: StackOptions, state_dir: Path, progress: Callable[[str], None]
) -> contextlib.AbstractAsyncContextManager[_Api]:
    if options.api == "cluster":
        return _cluster_api(options, state_dir, progress)
    return _emulator_api(options, state_dir)


@contextlib.asynccontextmanager
async def running_stack(
    options: StackOptions, progress: Callable[[str], None] = lambda _: None
) -> AsyncIterator[Stack]:
    """Everything up and ready (controller `/readyz` 200), the state file written; on exit the
    controller is stopped first (SIGTERM, then wait), then the audit service, the simulator and
    the API server. `progress` hears about the slow steps."""
    state_dir = options.state_dir.resolve()
    await asyncio.to_thread(prepare_state_dir, state_dir)
    services_log = await asyncio.to_thread(
        (state_dir / SERVICES_LOG_NAME).open, "a", encoding="utf-8", buffering=1
    )
    _route_service_logs(services_log)
    try:
        async with (
            _api(options, state_dir, progress) as api,
            _audit_service(options) as audit_url,
        ):
            metrics_port = options.metrics_port or free_port(options.host)
            health_port = options.health_port or free_port(options.host)
            controller = ControllerProcess(
                [
                    "--kubeconfig", str(api.controller_kubeconfig),
                    "--datastorage-url", audit_url,
                    "--cooldown-period", options.cooldown_period,
                    "--execution-namespace", options.execution_namespace,
                    "--metrics-bind-address", f"{options.host}:{metrics_port}",
                    "--health-probe-bind-address", f"{options.host}:{health_port}",
                    "--log-format", options.controller_log_format,
                ],
                state_dir / CONTROLLER_LOG_NAME,
            )  # fmt: skip
            endpoints = Endpoints(
                pid=os.getpid(),
                state_dir=str(state_dir),
                kubeconfig=str(api.kubeconfig),
                api_server=api.url,
                audit_url=audit_url,
                metrics_url=f"http://{options.host}:{metrics_port}/metrics",
                health_url=f"http://{options.host}:{health_port}",
                controller_pid=0,
                controller_log=str(controller.log_path),
                execution_namespace=options.execution_namespace,
                api=options.api,
            )
            stack = Stack(controller, endpoints, api.tls, api.emulator, api.cluster)
            try:
                yield stack
            finally:
                await controller.stop()
                await asyncio.to_thread((state_dir / STATE_FILE_NAME).unlink, missing_ok=True)
    finally:
        services_log.close()


async def start_controller(stack: Stack, options: StackOptions) -> Stack:
    """Start the controller, wait for `/readyz`, write the state file; the updated stack."""
    await stack.controller.start()
    await stack.controller.wait_ready(f"{stack.endpoints.health_url}/readyz", options.ready_timeout)
    endpoints = replace(stack.endpoints, controller_pid=stack.controller.pid or 0)
    await asyncio.to_thread(_write_state, Path(endpoints.state_dir) / STATE_FILE_NAME, endpoints)
    return replace(stack, endpoints=endpoints)
