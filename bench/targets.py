"""The API servers the create-burst and completion-mirror scenarios run on.

`emulator`: the in-process emulator, a fresh one per measurement; times are taken at the instant
it commits a change, requests read from its request log.

`cluster`: a real kube-apiserver + etcd + kube-controller-manager (`make test-cluster-build`), one
for the whole run, started by the benchmark and emptied after each measurement. Times are taken
when a watch event reaches the benchmark (its own watch, opened before the burst), requests read
from the API server's audit log. The controller and the floor both run on the controller's
ServiceAccount (`deploy/rbac/`); the benchmark's own requests use the admin certificate and are
not counted.

A scenario sees one `Api` per measurement and does not know which it has.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import tempfile
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

import aiohttp
import httpx

from bench.harness import served_emulator, watching
from bench.job_completion import start_node_stand_in, succeed_jobs_in_emulator
from bench.objects import EXECUTION_NAMESPACE, WFE_NAMESPACE
from bench.recorder import TimedWatch, Timeline
from kubernaut_wfe.constants import Label
from kubernaut_wfe_tools.emulator import ApiEmulator
from kubernaut_wfe_tools.emulator.admission import WriteOptions
from kubernaut_wfe_tools.emulator.faults import RequestRecord
from kubernaut_wfe_tools.processes import stop_process
from kubernaut_wfe_tools.testing.targets import bounded_each, reset_cluster
from kubernaut_wfe_tools.testing.testcluster import (
    CONTROLLER_USER,
    TestCluster,
    built,
    owned_cluster,
)
from kubernaut_wfe_tools.testing.testcluster.build import not_built_reason, read_pins
from kubernaut_wfe_tools.testing.testcluster.requests import AuditedRequests

TargetName = Literal["emulator", "cluster"]
TARGET_NAMES: tuple[TargetName, ...] = ("emulator", "cluster")

WRITE_CHUNK = 50
"""Emulator: completion writes per loop turn (the server keeps serving in between)."""
WRITERS = 32
"""Real server: the benchmark's own writes in flight at once (creations, completions)."""
COLLECTIONS = {
    "workflowexecutions": f"/apis/kubernaut.ai/v1alpha1/namespaces/{WFE_NAMESPACE}"
    "/workflowexecutions",
    "pipelineruns": f"/apis/tekton.dev/v1/namespaces/{EXECUTION_NAMESPACE}/pipelineruns",
    "jobs": f"/apis/batch/v1/namespaces/{EXECUTION_NAMESPACE}/jobs",
}
MERGE = {"Content-Type": "application/merge-patch+json"}
BAD_REQUEST, NOT_FOUND = 400, 404
STOP_TIMEOUT = 10.0


class Api(Protocol):
    """One measurement's API server, as a scenario uses it.

    `requests_since` and `request_count` cover the requests sent with the controller's credentials
    (by the controller, or by the floor in its place); the benchmark's own are not among them."""

    kubeconfig: Path
    """What the controller and the floor run with."""
    scratch: Path
    """A fresh directory for this measurement's files (logs, databases)."""

    def timeline(
        self, resource: str, owner_label: str | None = None, conditions: tuple[str, ...] = ()
    ) -> contextlib.AbstractAsyncContextManager[Timeline]:
        """A `Timeline` of `resource` (WFEs in their namespace, runs in the execution namespace)
        for the block, recording from before the block starts (`Timeline` for the arguments)."""
        ...

    async def create_wfes(self, bodies: Sequence[dict[str, Any]]) -> None:
        """Create these WorkflowExecutions at once."""
        ...

    async def complete_runs(self, status: dict[str, Any]) -> dict[str, float]:
        """Write `status` into every PipelineRun, as Tekton would; WFE name → when its run's
        write was committed (`time.perf_counter()`)."""
        ...

    async def complete_jobs(self) -> None:
        """Have every Job succeed as Kubernetes makes it succeed (`bench.job_completion`); a Job
        timeline that notes `Complete` records when each did."""
        ...

    def request_count(self) -> int:
        """How many requests so far (a mark for `requests_since`)."""
        ...

    def requests_since(self, mark: int) -> list[RequestRecord]:
        """The requests from `mark` on."""
        ...

    def watching(self, resources: Iterable[str]) -> bool:
        """Whether a watch was opened on each of these resources in this measurement."""
        ...


class Target(Protocol):
    """A kind of API server; `measurement()` gives one `Api` for a measurement, and cleans up."""

    name: TargetName

    def measurement(self, workdir: Path) -> contextlib.AbstractAsyncContextManager[Api]: ...


class TargetUnavailableError(RuntimeError):
    """The target cannot run here; the message says why and what to do."""


# --- the emulator -----------------------------------------------------------------------------


class EmulatorApi:
    """A fresh in-process emulator (nothing but the measured process sends it HTTP requests)."""

    def __init__(self, emu: ApiEmulator, scratch: Path) -> None:
        self.emu = emu
        self.scratch = scratch
        self.kubeconfig = emu.write_kubeconfig(scratch / "kubeconfig")

    @contextlib.asynccontextmanager
    async def timeline(
        self, resource: str, owner_label: str | None = None, conditions: tuple[str, ...] = ()
    ) -> AsyncIterator[Timeline]:
        watch = TimedWatch(self.emu, resource, Timeline(owner_label, conditions)).attach()
        try:
            yield watch.timeline
        finally:
            watch.detach()

    async def create_wfes(self, bodies: Sequence[dict[str, Any]]) -> None:
        self.emu.seed(bodies)

    async def complete_runs(self, status: dict[str, Any]) -> dict[str, float]:
        written: dict[str, float] = {}
        runs = self.emu.objects("pipelineruns", EXECUTION_NAMESPACE)
        resource = self.emu.resource("pipelineruns")
        for start in range(0, len(runs), WRITE_CHUNK):
            for run in runs[start : start + WRITE_CHUNK]:
                meta = run["metadata"]
                self.emu.lifecycle.update(
                    resource, meta["namespace"], meta["name"],
                    {**copy.deepcopy(run), "status": status},
                    subresource="status", options=WriteOptions(),
                )  # fmt: skip
                written[meta["labels"][Label.WORKFLOW_EXECUTION.value]] = time.perf_counter()
            await asyncio.sleep(0)
        return written

    async def complete_jobs(self) -> None:
        await succeed_jobs_in_emulator(self.emu)

    def request_count(self) -> int:
        return len(self.emu.request_log)

    def requests_since(self, mark: int) -> list[RequestRecord]:
        return list(self.emu.request_log)[mark:]

    def watching(self, resources: Iterable[str]) -> bool:
        return watching(self.emu, resources)


class EmulatorTarget:
    """A fresh emulator per measurement."""

    name: TargetName = "emulator"

    @contextlib.asynccontextmanager
    async def measurement(self, workdir: Path) -> AsyncIterator[Api]:
        async with served_emulator() as emu:
            yield EmulatorApi(emu, Path(tempfile.mkdtemp(prefix="emulator-", dir=workdir)))


# --- the real API server ----------------------------------------------------------------------


async def call(
    session: aiohttp.ClientSession,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    *,
    headers: dict[str, str] | None = None,
) -> dict[str, Any] | None:
    """One request of the benchmark's own; its JSON answer (None for a 404)."""
    async with session.request(method, path, json=body, headers=headers) as answer:
        if answer.status == NOT_FOUND:
            return None
        if answer.status >= BAD_REQUEST:
            raise RuntimeError(f"{method} {path}: {answer.status} {await answer.text()}")
        found: dict[str, Any] = await answer.json()
        return found


class ClusterApi:
    """The shared real API server, for one measurement (emptied by `ClusterTarget` after it)."""

    def __init__(
        self,
        cluster: TestCluster,
        session: aiohttp.ClientSession,
        requests: AuditedRequests,
        scratch: Path,
    ) -> None:
        self.session = session
        self.scratch = scratch
        self.cluster = cluster
        self.kubeconfig = cluster.controller_kubeconfig
        self.requests = requests
        """The controller's requests, read on from where the previous measurement stopped."""
        self.requests.clear()
        self.node: asyncio.subprocess.Process | None = None
        """The kubelet stand-in, once `complete_jobs` started it (stopped by `close`)."""

    @contextlib.asynccontextmanager
    async def timeline(
        self, resource: str, owner_label: str | None = None, conditions: tuple[str, ...] = ()
    ) -> AsyncIterator[Timeline]:
        timeline, collection = Timeline(owner_label, conditions), COLLECTIONS[resource]
        listing = await call(self.session, "GET", collection) or {}
        version = listing["metadata"]["resourceVersion"]
        stream = await self._watch(collection, version)
        follower = asyncio.create_task(self._follow(collection, stream, version, timeline))
        try:
            yield timeline
        finally:
            follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await follower

    async def _watch(self, collection: str, version: str) -> aiohttp.ClientResponse:
        params = {"watch": "1", "resourceVersion": version, "allowWatchBookmarks": "true"}
        stream = await self.session.get(collection, params=params, timeout=aiohttp.ClientTimeout())
        stream.raise_for_status()
        return stream

    async def _follow(
        self, collection: str, stream: aiohttp.ClientResponse, version: str, timeline: Timeline
    ) -> None:
        """Note every event as it arrives; watch again from the last version if the server ends
        the stream."""
        while True:
            async with stream:
                async for line in stream.content:
                    event = json.loads(line)
                    kind, obj = event["type"], event["object"]
                    if kind == "ERROR":
                        raise RuntimeError(f"watch of {collection} failed: {obj}")
                    if kind != "BOOKMARK":
                        timeline.note(kind, obj, time.perf_counter())
                    version = obj["metadata"]["resourceVersion"]
            timeline.restarts += 1
            stream = await self._watch(collection, version)

    async def create_wfes(self, bodies: Sequence[dict[str, Any]]) -> None:
        async def post(body: dict[str, Any]) -> None:
            await call(self.session, "POST", COLLECTIONS["workflowexecutions"], body)

        await bounded_each(bodies, post, WRITERS)

    async def complete_runs(self, status: dict[str, Any]) -> dict[str, float]:
        written: dict[str, float] = {}
        collection = COLLECTIONS["pipelineruns"]

        async def complete(run: dict[str, Any]) -> None:
            meta = run["metadata"]
            path = f"{collection}/{meta['name']}/status"
            await call(self.session, "PATCH", path, {"status": status}, headers=MERGE)
            written[meta["labels"][Label.WORKFLOW_EXECUTION.value]] = time.perf_counter()

        await bounded_each(await self._items(collection), complete, WRITERS)
        return written

    async def complete_jobs(self) -> None:
        self.node = await start_node_stand_in(self.cluster, self.scratch / "node-stand-in.log")

    async def close(self) -> None:
        """Stop the kubelet stand-in, if it was started (before the server is emptied: it
        would play the pods' deletion)."""
        if self.node is not None:
            await stop_process(self.node, STOP_TIMEOUT)
            self.node = None

    async def _items(self, collection: str) -> list[dict[str, Any]]:
        listing = await call(self.session, "GET", collection) or {}
        return list(listing["items"])

    def request_count(self) -> int:
        return len(self.requests)

    def requests_since(self, mark: int) -> list[RequestRecord]:
        return list(self.requests)[mark:]

    def watching(self, resources: Iterable[str]) -> bool:
        watched = {record.resource for record in self.requests.filter(verb="watch")}
        return set(resources) <= watched


class ClusterTarget:
    """The real API server the benchmark started, emptied after each measurement."""

    name: TargetName = "cluster"

    def __init__(
        self, cluster: TestCluster, session: aiohttp.ClientSession, admin: httpx.AsyncClient
    ) -> None:
        self.cluster = cluster
        self.session = session
        self.admin = admin
        self.requests = AuditedRequests(cluster.audit_log, CONTROLLER_USER)
        """One reader of the growing audit log for the whole run (each measurement reads on)."""

    @contextlib.asynccontextmanager
    async def measurement(self, workdir: Path) -> AsyncIterator[Api]:
        scratch = Path(tempfile.mkdtemp(prefix="cluster-", dir=workdir))
        api = ClusterApi(self.cluster, self.session, self.requests, scratch)
        try:
            yield api
        finally:
            await api.close()
            await reset_cluster(self.admin, (WFE_NAMESPACE, EXECUTION_NAMESPACE))


def unavailable(name: TargetName) -> str | None:
    """Why the target cannot run here (and what to do), None when it can."""
    if name == "emulator" or built() is not None:
        return None
    return not_built_reason()


def server_version(name: TargetName) -> str:
    """What serves the API on the target."""
    if name == "emulator":
        return "kubernaut_wfe_tools.emulator.ApiEmulator (in-process)"
    pins = read_pins()
    return f"kube-apiserver {pins.kubernetes}, etcd {pins.etcd} (make test-cluster-build)"


@contextlib.asynccontextmanager
async def opened(name: TargetName, workdir: Path) -> AsyncIterator[Target]:
    """The target for the block: for `cluster`, a control plane started now and stopped at the
    end (`TargetUnavailableError` when it is not built)."""
    if name == "emulator":
        yield EmulatorTarget()
        return
    binaries = built()
    if binaries is None:
        raise TargetUnavailableError(unavailable(name) or "not built")
    async with owned_cluster(workdir / "testcluster", binaries) as cluster:
        connector = aiohttp.TCPConnector(ssl=cluster.tls(), limit=0)
        async with (
            aiohttp.ClientSession(base_url=cluster.url, connector=connector) as session,
            # a DELETE of thousands of objects takes longer than httpx's default 5 s
            httpx.AsyncClient(base_url=cluster.url, verify=cluster.tls(), timeout=300) as admin,
        ):
            yield ClusterTarget(cluster, session, admin)
