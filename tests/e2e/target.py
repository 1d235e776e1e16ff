"""What the e2e tests talk to: a `Target` (Kubernetes API, audit service, metrics, probes) made
either by starting `kubernaut-wfe sandbox` (on the real API server for `cluster`, on the emulator
for `sandbox`) or from the environment `tests/e2e/kind/run.sh` sets (`kind`)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

from kubernaut_wfe.constants import API_VERSION, PLURAL

TARGETS = ("cluster", "sandbox", "kind")
DEFAULT_TARGET = "cluster"
SANDBOX_START_SECONDS = 90.0
CLUSTER_START_SECONDS = 240.0
"""The real control plane starts first (about 15 s alone, more on a busy machine)."""
SANDBOX_STOP_SECONDS = 30.0
HELLO_BUNDLE = "quay.io/kubernaut/workflows/hello-world:v1"
FAILING_BUNDLE = "quay.io/kubernaut/workflows/failing:v1"
KIND_ENV = {
    "E2E_KUBECONFIG": ("E2E_KUBECONFIG", "KUBECONFIG"),
    "E2E_AUDIT_URL": ("E2E_AUDIT_URL",),
    "E2E_METRICS_URL": ("E2E_METRICS_URL",),
    "E2E_HEALTH_URL": ("E2E_HEALTH_URL", "E2E_PROBES_URL"),
}
"""Each setting and the variables that may carry it, first found wins."""


class TargetError(Exception):
    """The target could not be reached or started; the message says why."""


@dataclass(frozen=True)
class Target:
    """Endpoints and settings of the system under test."""

    name: str
    api_server: str
    audit_url: str
    metrics_url: str
    health_url: str
    execution_namespace: str = "kubernaut-workflows"
    hello_bundle: str = HELLO_BUNDLE
    failing_bundle: str = FAILING_BUNDLE
    wait_seconds: float = 60.0
    """How long a WFE may take to reach its terminal phase on this target."""
    headers: Mapping[str, str] = field(default_factory=dict)
    verify: ssl.SSLContext | bool = True

    def kube(self) -> httpx.Client:
        """A client of the Kubernetes API (base URL, auth and TLS set)."""
        return httpx.Client(
            base_url=self.api_server,
            headers=dict(self.headers),
            verify=self.verify,
            timeout=30.0,
            trust_env=False,
        )


@dataclass(frozen=True)
class _KubeAccess:
    server: str
    headers: Mapping[str, str]
    verify: ssl.SSLContext | bool


def _kube_access(kubeconfig: str) -> _KubeAccess:
    """Server, auth headers and TLS of a kubeconfig's current context."""
    from kubernaut_wfe.adapters.kube_connection import KubeConnection
    from kubernaut_wfe.adapters.kubeconfig import KubeConfigError, load_kubeconfig

    try:
        connection = KubeConnection.open(load_kubeconfig(kubeconfig))
    except KubeConfigError as error:
        raise TargetError(f"{kubeconfig}: {error}") from error
    token = connection.token.read_now() if connection.token is not None else None
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    verify: ssl.SSLContext | bool = connection.tls if connection.tls is not None else True
    return _KubeAccess(connection.server, headers, verify)


def _first(environ: Mapping[str, str], *names: str) -> str:
    return next((environ[name] for name in names if environ.get(name)), "")


def _bundle(environ: Mapping[str, str], variable: str, repository: str, default: str) -> str:
    if environ.get(variable):
        return environ[variable]
    registry = environ.get("E2E_BUNDLE_REGISTRY", "").rstrip("/")
    return f"{registry}/kubernaut/workflows/{repository}:v1" if registry else default


def target_from_env(environ: Mapping[str, str]) -> Target:
    """The `kind` target from the endpoints `tests/e2e/kind/run.sh` exports (README.md: the
    names, and the aliases that script uses)."""
    found = {wanted: _first(environ, *names) for wanted, names in KIND_ENV.items()}
    missing = [" or ".join(KIND_ENV[wanted]) for wanted, value in found.items() if not value]
    if missing:
        raise TargetError(f"E2E_TARGET=kind needs {', '.join(missing)} (run tests/e2e/kind/run.sh)")
    access = _kube_access(found["E2E_KUBECONFIG"])
    metrics = found["E2E_METRICS_URL"].rstrip("/")
    return Target(
        name="kind",
        api_server=access.server,
        audit_url=found["E2E_AUDIT_URL"].rstrip("/"),
        metrics_url=metrics if metrics.endswith("/metrics") else f"{metrics}/metrics",
        health_url=found["E2E_HEALTH_URL"].rstrip("/"),
        execution_namespace=environ.get("E2E_EXECUTION_NAMESPACE", "kubernaut-workflows"),
        hello_bundle=_bundle(environ, "E2E_HELLO_BUNDLE", "hello-world", HELLO_BUNDLE),
        failing_bundle=_bundle(environ, "E2E_FAILING_BUNDLE", "failing", FAILING_BUNDLE),
        wait_seconds=float(environ.get("E2E_WAIT_SECONDS", "300")),
        headers=access.headers,
        verify=access.verify,
    )


def cluster_unavailable() -> str | None:
    """Why `E2E_TARGET=cluster` cannot run here (the binaries are not built), or None."""
    from kubernaut_wfe_tools.sandbox.cluster import find_binaries
    from kubernaut_wfe_tools.testing.testcluster.build import not_built_reason

    if find_binaries() is not None:
        return None
    return f"E2E_TARGET=cluster: {not_built_reason()}"


def state_target(name: str, state: Mapping[str, Any]) -> Target:
    """The target described by a sandbox's `sandbox.json` (its `kubeconfig` is the admin's)."""
    access = _kube_access(str(state["kubeconfig"]))
    return Target(
        name=name,
        api_server=access.server,
        headers=access.headers,
        verify=access.verify,
        audit_url=str(state["auditUrl"]),
        metrics_url=str(state["metricsUrl"]),
        health_url=str(state["healthUrl"]),
        execution_namespace=str(state["executionNamespace"]),
    )


def _read_state(path: Path) -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state


@contextlib.contextmanager
def sandbox_target(
    state_dir: Path, api: Literal["emulator", "cluster"] = "emulator"
) -> Iterator[Target]:
    """`kubernaut-wfe sandbox --api API` applying nothing; the target (`sandbox` on the emulator,
    `cluster` on the real API server) once its `sandbox.json` is written. On exit the sandbox is
    stopped with SIGTERM (it stops the controller first, the API server last)."""
    log_path = state_dir / "sandbox.stderr"
    state_path = state_dir / "sandbox.json"
    command = [
        sys.executable, "-m", "kubernaut_wfe_tools.commands.sandbox",
        "--no-apply", "--state-dir", str(state_dir), "--api", api,
    ]  # fmt: skip
    start_seconds = CLUSTER_START_SECONDS if api == "cluster" else SANDBOX_START_SECONDS
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )
    state: dict[str, Any] | None = None
    try:
        deadline = time.monotonic() + start_seconds
        while state is None:
            if process.poll() is not None or time.monotonic() > deadline:
                output = log_path.read_text(encoding="utf-8", errors="replace")
                raise TargetError(f"the sandbox did not start (exit {process.poll()}):\n{output}")
            time.sleep(0.1)  # the state file appears once the controller is ready
            state = _read_state(state_path)
        yield state_target("cluster" if api == "cluster" else "sandbox", state)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(SANDBOX_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if state is not None:
            # Only if the sandbox itself could not stop it: never leave a controller behind.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(state["controllerPid"]), signal.SIGKILL)
        _stop_left_cluster(state_dir / "cluster")


def _stop_left_cluster(root: Path) -> None:
    """Only if the sandbox could not stop its control plane: stop it (its `state.json` is removed
    with it on a clean stop)."""
    from kubernaut_wfe_tools.testing.testcluster import TestCluster

    left = TestCluster.attach(root)
    if left is not None:
        left.stop()


def wfe_path(namespace: str, name: str = "") -> str:
    base = f"/apis/{API_VERSION}/namespaces/{namespace}/{PLURAL}"
    return f"{base}/{name}" if name else base


def wait_for_wfe(
    kube: httpx.Client,
    namespace: str,
    name: str,
    done: Callable[[dict[str, Any]], bool],
    *,
    within: float,
    what: str,
) -> dict[str, Any]:
    """The WFE once `done(wfe)` holds, following a watch (no polling); AssertionError with the
    last state seen when `within` seconds pass."""
    deadline = time.monotonic() + within
    last: dict[str, Any] | None = None
    selector = {"fieldSelector": f"metadata.name={name}"}
    while time.monotonic() < deadline:
        listing = kube.get(wfe_path(namespace), params=selector)
        listing.raise_for_status()
        items: list[dict[str, Any]] = listing.json().get("items") or []
        for item in items:
            last = item
            if done(item):
                return item
        remaining = max(1, int(deadline - time.monotonic()))
        params = {
            **selector,
            "watch": "1",
            "resourceVersion": listing.json()["metadata"]["resourceVersion"],
            "timeoutSeconds": str(remaining),
        }
        timeout = httpx.Timeout(30.0, read=remaining + 10)
        with kube.stream("GET", wfe_path(namespace), params=params, timeout=timeout) as stream:
            for line in stream.iter_lines():
                if not line.strip():
                    continue
                event = json.loads(line)
                if event.get("type") in ("ADDED", "MODIFIED"):
                    seen: dict[str, Any] = event["object"]
                    last = seen
                    if done(seen):
                        return seen
                elif event.get("type") == "ERROR":
                    break  # e.g. 410 Gone: list again
    status = json.dumps((last or {}).get("status"), indent=2)
    raise AssertionError(f"{namespace}/{name}: timed out waiting for {what}; status: {status}")
