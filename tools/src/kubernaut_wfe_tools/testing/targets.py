"""Where the integration stack's API lives: the real API server (the default) or the emulator.

Both give the tests the same four things: an admin URL and TLS context, a kubeconfig for the
controller, fault rules on the controller's requests (`kubernaut_wfe_tools.emulator.faults`,
applied by the emulator itself or by the fault proxy in front of the real server), and the
controller's requests (the emulator's request log, or the API server's audit log plus what the
proxy refused).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, TypeVar

import httpx

from kubernaut_wfe_tools.emulator import ApiEmulator
from kubernaut_wfe_tools.emulator.faults import FaultInjector, RequestLog, RequestRecord
from kubernaut_wfe_tools.testing.faultproxy import FaultProxy, proxied_kubeconfig
from kubernaut_wfe_tools.testing.testcluster import CONTROLLER_USER, TestCluster
from kubernaut_wfe_tools.testing.testcluster.cluster import EXECUTION_NAMESPACE
from kubernaut_wfe_tools.testing.testcluster.requests import AuditedRequests

TargetKind = Literal["cluster", "emulator"]
TARGET_VARIABLE = "INTEGRATION_TARGET"
CONTROLLER_AGENTS = ("kubernaut-wfe/", "kopf/")
"""The User-Agents of the controller's own requests (its API session's and kopf's)."""
WFE_API = "/apis/kubernaut.ai/v1alpha1"
TEKTON_API = "/apis/tekton.dev/v1"
BATCH_API = "/apis/batch/v1"
AT_ONCE = {
    "apiVersion": "v1",
    "kind": "DeleteOptions",
    "gracePeriodSeconds": 0,
    "propagationPolicy": "Background",
}
"""How a reset deletes: no grace (no kubelet may be left to end a pod) and dependents with their
owner (a Job's pods)."""
CONTROLLER_NAMESPACE = "kubernaut-system"
Item = TypeVar("Item")


def target_kind() -> TargetKind:
    """The target the suites run on: `INTEGRATION_TARGET` (cluster unless set to emulator)."""
    value = os.environ.get(TARGET_VARIABLE, "cluster")
    if value not in ("cluster", "emulator"):
        raise ValueError(f"{TARGET_VARIABLE} is cluster or emulator, not {value!r}")
    return "emulator" if value == "emulator" else "cluster"


class Requests(Protocol):
    """The controller's API requests so far (since the last `clear()`)."""

    def filter(self, **criteria: str | None) -> list[RequestRecord]: ...

    def clear(self) -> None: ...

    def forbidden_by_server(self) -> list[RequestRecord]:
        """The requests the API server itself refused with 403 (RBAC), not an injected fault."""
        ...

    def __iter__(self) -> Iterator[RequestRecord]: ...


@dataclass(frozen=True)
class ApiTarget:
    """An API server the stack runs on."""

    url: str
    verify: ssl.SSLContext | bool
    """How an admin client verifies it (and, on the real server, presents the admin's cert)."""
    controller_kubeconfig: Path
    faults: FaultInjector
    requests: Requests


class EmulatedControllerRequests:
    """The emulator's request log narrowed to the controller's requests (by User-Agent)."""

    def __init__(self, log: RequestLog) -> None:
        self._log = log

    def filter(self, **criteria: str | None) -> list[RequestRecord]:
        found = self._log.filter(**criteria)
        return [record for record in found if record.user_agent.startswith(CONTROLLER_AGENTS)]

    def clear(self) -> None:
        self._log.clear()

    def forbidden_by_server(self) -> list[RequestRecord]:
        return []  # the emulator has no RBAC: it authorises every request

    def __iter__(self) -> Iterator[RequestRecord]:
        return iter(self.filter())


class ServedControllerRequests:
    """What the API server's audit log says the controller's user asked, and what the fault proxy
    answered itself (those never reach the server), in order."""

    def __init__(self, audited: AuditedRequests, refused: RequestLog) -> None:
        self._audited = audited
        self._refused = refused

    def filter(self, **criteria: str | None) -> list[RequestRecord]:
        found = self._audited.filter(**criteria) + self._refused.filter(**criteria)
        return sorted(found, key=lambda record: record.timestamp)

    def clear(self) -> None:
        self._audited.clear()
        self._refused.clear()

    def forbidden_by_server(self) -> list[RequestRecord]:
        return self._audited.denied_by_rbac()

    def __iter__(self) -> Iterator[RequestRecord]:
        return iter(self.filter())


async def ensure_namespaces(client: httpx.AsyncClient, namespaces: Iterable[str]) -> None:
    """Create each namespace unless it exists."""
    for namespace in namespaces:
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        answer = await client.post("/api/v1/namespaces", json=body)
        if answer.status_code != 409:
            answer.raise_for_status()


@contextlib.asynccontextmanager
async def emulator_target(
    tmp_path: Path, *, crd_paths: list[Path] | None = None
) -> AsyncIterator[ApiTarget]:
    """A fresh emulator (with `crd_paths` if given, else its default CRDs) for the block."""
    emu = ApiEmulator(crd_paths=crd_paths)
    async with emu.serving(host="127.0.0.1", port=0):
        yield ApiTarget(
            url=emu.url,
            verify=True,
            controller_kubeconfig=emu.write_kubeconfig(tmp_path / "kubeconfig"),
            faults=emu.faults,
            requests=EmulatedControllerRequests(emu.request_log),
        )


@contextlib.asynccontextmanager
async def cluster_target(cluster: TestCluster, tmp_path: Path) -> AsyncIterator[ApiTarget]:
    """The shared real API server, the controller reaching it through a fault proxy on its
    ServiceAccount's token; its requests counted from this moment on."""
    cert, key = cluster.proxy_certificate
    async with FaultProxy(cluster.url, cluster.tls(admin=False), cert, key) as proxy:
        kubeconfig = proxied_kubeconfig(
            cluster.controller_kubeconfig, proxy.url, tmp_path / "controller.kubeconfig"
        )
        requests = ServedControllerRequests(
            AuditedRequests(cluster.audit_log, CONTROLLER_USER), proxy.refused
        )
        requests.clear()
        yield ApiTarget(
            url=cluster.url,
            verify=cluster.tls(),
            controller_kubeconfig=kubeconfig,
            faults=proxy.faults,
            requests=requests,
        )


NO_FINALIZERS = {"metadata": {"finalizers": None}}
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


async def reset_cluster(client: httpx.AsyncClient, namespaces: Iterable[str]) -> None:
    """Remove the WFEs, runs (PipelineRuns and Jobs, with their TaskRuns and pods), quotas,
    Events and Leases a test left in `namespaces` (finalizers first: no controller is left to
    remove them; pods at once: no kubelet may be left to finish them) and wait until they are
    gone."""
    collections = []
    for namespace in namespaces:
        collections += [
            f"{WFE_API}/namespaces/{namespace}/workflowexecutions",
            f"{TEKTON_API}/namespaces/{namespace}/pipelineruns",
            f"{TEKTON_API}/namespaces/{namespace}/taskruns",
            f"/api/v1/namespaces/{namespace}/events",
            f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases",
        ]
        if namespace == EXECUTION_NAMESPACE:
            # The Job engine's runs; elsewhere pods belong to Deployments that re-create them.
            collections += [
                f"{BATCH_API}/namespaces/{namespace}/jobs",
                f"/api/v1/namespaces/{namespace}/pods",
                f"/api/v1/namespaces/{namespace}/resourcequotas",
            ]
    for collection in collections:
        answer = await client.get(collection)
        if answer.status_code == 404:
            continue
        answer.raise_for_status()
        held = [
            f"{collection}/{item['metadata']['name']}"
            for item in answer.json().get("items") or []
            if item["metadata"].get("finalizers")
        ]
        await bounded_each(held, functools.partial(_release, client))
        deleted = await client.request("DELETE", collection, json=AT_ONCE)
        if deleted.status_code != 404:
            deleted.raise_for_status()
    for collection in collections:
        if not collection.endswith(("/events", "/leases")):  # names a next test reuses
            await _wait_empty(client, collection)


async def _release(client: httpx.AsyncClient, path: str) -> None:
    patched = await client.patch(path, json=NO_FINALIZERS, headers=MERGE_PATCH)
    if patched.status_code != 404:
        patched.raise_for_status()


async def bounded_each(
    items: Iterable[Item], work: Callable[[Item], Awaitable[None]], concurrency: int = 32
) -> None:
    """`work` on every item, `concurrency` at a time (a benchmark leaves thousands behind)."""
    queue = list(items)
    queue.reverse()

    async def worker() -> None:
        while queue:
            await work(queue.pop())

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(queue)))))


async def _wait_empty(client: httpx.AsyncClient, collection: str) -> None:
    for _ in range(300):
        answer = await client.get(collection, params={"limit": "1"})
        if answer.status_code == 404 or not answer.json().get("items"):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{collection} still holds objects after the reset")
