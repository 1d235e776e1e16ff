"""What a fidelity test talks to: the emulator or the real API server (the test cluster), the
same way. Every test written against `Api` runs on both and expects the same answers; where they
differ on purpose, docs/testing.md ("Where the emulator differs from the real API server") says
why and the test says which target it is about.

On the cluster (one shared by the whole session) each test has a namespace of its own, which it
may fill freely; the fixture deletes it at the end, after taking off the finalizers the test left
on its objects. Names outside that namespace (other namespaces, a cluster-wide watch) are made
unique with `unique()`. Nothing is assumed alone on the server: a cluster-wide list or watch is
filtered by the test's namespaces or names.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import secrets
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from kubernaut_wfe_tools.emulator import ApiEmulator
from kubernaut_wfe_tools.testing.testcluster import TestCluster

Target = Literal["emulator", "cluster"]
TARGETS: tuple[Target, ...] = ("emulator", "cluster")
MERGE = {"Content-Type": "application/merge-patch+json"}
JSON_PATCH = {"Content-Type": "application/json-patch+json"}

GROUP_VERSIONS = {
    "workflowexecutions": "apis/kubernaut.ai/v1alpha1",
    "pipelineruns": "apis/tekton.dev/v1",
    "taskruns": "apis/tekton.dev/v1",
    "configmaps": "api/v1",
    "secrets": "api/v1",
    "serviceaccounts": "api/v1",
    "events": "api/v1",
    "leases": "apis/coordination.k8s.io/v1",
}
CUSTOM_RESOURCES = ("workflowexecutions", "pipelineruns", "taskruns")
"""What the fidelity tests create with finalizers (taken off before their namespace goes)."""

WFE: dict[str, Any] = {
    "apiVersion": "kubernaut.ai/v1alpha1",
    "kind": "WorkflowExecution",
    "metadata": {"name": "wfe-1"},
    "spec": {
        "remediationRequestRef": {"name": "rr-1"},
        "workflowRef": {
            "workflowId": "hello-world",
            "version": "1.0.0",
            "containerImage": "quay.io/kubernaut/workflows/hello-world:v1",
        },
        "targetResource": "default/deployment/nginx",
    },
}


PLAIN_HTTP = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
"""For clients of the emulator (plain HTTP): httpx would otherwise build a context with every
CA of certifi for each client, some 60 ms, for nothing."""


def unique(prefix: str) -> str:
    """`prefix-` and 8 random hex digits: a name no other test (or run) uses."""
    return f"{prefix}-{secrets.token_hex(4)}"


@dataclass
class Api:
    """One target, an admin client on it, and the test's own namespace there."""

    target: Target
    client: httpx.AsyncClient
    namespace: str
    emulator: ApiEmulator | None = None
    cluster: TestCluster | None = None
    namespaces: list[str] = field(default_factory=list)
    """Every namespace this test created (its own first); deleted at the end on the cluster."""
    audit_offset: int = 0
    """Where the cluster's audit log stood when the test began (it reads only what follows)."""

    # -- paths and bodies --------------------------------------------------------------------

    def path(self, plural: str, namespace: str | None = None) -> str:
        """The collection path of `plural` in `namespace` (the test's own by default)."""
        return f"/{GROUP_VERSIONS[plural]}/namespaces/{namespace or self.namespace}/{plural}"

    def all_namespaces(self, plural: str) -> str:
        """The cluster-wide collection path of `plural`."""
        return f"/{GROUP_VERSIONS[plural]}/{plural}"

    @property
    def wfes(self) -> str:
        return self.path("workflowexecutions")

    @property
    def prs(self) -> str:
        return self.path("pipelineruns")

    @property
    def trs(self) -> str:
        return self.path("taskruns")

    def wfe(self, name: str = "wfe-1", **labels: str) -> dict[str, Any]:
        """A valid WorkflowExecution in the test's namespace."""
        body = copy.deepcopy(WFE)
        body["metadata"] = {"name": name, "namespace": self.namespace}
        if labels:
            body["metadata"]["labels"] = dict(labels)
        return body

    def pipelinerun(self, name: str, namespace: str | None = None, **labels: str) -> dict[str, Any]:
        """A minimal PipelineRun in `namespace` (the test's own by default)."""
        return {
            "apiVersion": "tekton.dev/v1",
            "kind": "PipelineRun",
            "metadata": {
                "name": name,
                "namespace": namespace or self.namespace,
                "labels": dict(labels),
            },
            "spec": {"pipelineRef": {"resolver": "bundles", "params": []}},
        }

    # -- requests ----------------------------------------------------------------------------

    async def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST that must answer 201; the created object."""
        response = await self.client.post(path, json=body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def create_namespace(self, prefix: str = "fid") -> str:
        """A new namespace with a unique name; deleted at the end on the cluster."""
        name = unique(prefix)
        await self.create("/api/v1/namespaces", {"metadata": {"name": name}})
        self.namespaces.append(name)
        return name

    async def status_code(self, path: str) -> int:
        return (await self.client.get(path)).status_code

    async def eventually(self, probe: Callable[[], Any], what: str, within: float = 45.0) -> Any:
        """Poll `probe` (plain or async) until it returns something truthy, and return it.
        The emulator does at once what the real server's controllers (garbage collector,
        namespace controller) do in the background, so there the first probe succeeds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            result = probe()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return result
            if loop.time() > deadline:
                raise AssertionError(f"{self.target}: timed out waiting for {what}")
            await asyncio.sleep(0.1)

    async def requests(self, verb: str, resource: str) -> list[str]:
        """The names in the requests of `verb` on `resource` in the test's namespace, as the
        server recorded them: the emulator's request log, the real server's audit log."""
        if self.emulator is not None:
            return [
                str(record.name)
                for record in self.emulator.request_log.filter(
                    verb=verb, resource=resource, namespace=self.namespace
                )
            ]
        records = await self._audit_records()
        names: dict[str, str] = {}  # by auditID: a watch has a record when it starts and ends
        for record in records:
            ref = record.get("objectRef") or {}
            if (record.get("verb"), ref.get("resource"), ref.get("namespace")) == (
                verb,
                resource,
                self.namespace,
            ):
                names[record["auditID"]] = str(ref.get("name"))
        return list(names.values())

    async def _audit_records(self) -> list[dict[str, Any]]:
        """The audit log once it holds every request made so far: the server writes a record as
        its request ends, so a request of ours made now is recorded after all earlier ones."""
        assert self.cluster is not None
        marker = unique("marker")
        await self.client.get(f"{self.path('configmaps')}/{marker}")

        def recorded() -> list[dict[str, Any]] | None:
            assert self.cluster is not None
            with self.cluster.audit_log.open("rb") as log:
                log.seek(self.audit_offset)
                lines = log.read().splitlines()
            records = []
            for line in lines:
                with contextlib.suppress(ValueError):
                    records.append(json.loads(line))
            marked = any((r.get("objectRef") or {}).get("name") == marker for r in records)
            return records if marked else None

        found: list[dict[str, Any]] = await self.eventually(
            lambda: asyncio.to_thread(recorded), "the audit log to record our request", 20
        )
        return found

    # -- the end -----------------------------------------------------------------------------

    async def clean_up(self) -> None:
        """On the cluster: take the finalizers off what the test left, delete its namespaces
        (the namespace controller empties them in the background)."""
        if self.cluster is None:
            return
        await asyncio.gather(
            *(self._release(plural, ns) for ns in self.namespaces for plural in CUSTOM_RESOURCES)
        )
        await asyncio.gather(
            *(self.client.delete(f"/api/v1/namespaces/{ns}") for ns in self.namespaces)
        )

    async def _release(self, plural: str, namespace: str) -> None:
        listing = await self.client.get(self.path(plural, namespace))
        if listing.status_code != 200:
            return
        for item in listing.json()["items"]:
            if item["metadata"].get("finalizers"):
                await self.client.patch(
                    f"{self.path(plural, namespace)}/{item['metadata']['name']}",
                    json={"metadata": {"finalizers": None}},
                    headers=MERGE,
                )


@contextlib.asynccontextmanager
async def api_on(target: Target, cluster: TestCluster | None) -> AsyncIterator[Api]:
    """An `Api` on a fresh emulator, or on `cluster`, with a namespace of the test's own."""
    async with contextlib.AsyncExitStack() as stack:
        if target == "emulator":
            emulator = ApiEmulator()
            await stack.enter_async_context(emulator.serving())
            client = httpx.AsyncClient(base_url=emulator.url, timeout=10, verify=PLAIN_HTTP)
            api = Api(target, await stack.enter_async_context(client), "", emulator=emulator)
        else:
            assert cluster is not None
            client = httpx.AsyncClient(base_url=cluster.url, verify=cluster.tls(), timeout=30)
            api = Api(target, await stack.enter_async_context(client), "", cluster=cluster)
            with contextlib.suppress(FileNotFoundError):
                api.audit_offset = cluster.audit_log.stat().st_size
        api.namespace = await api.create_namespace("fid")
        try:
            yield api
        finally:
            await api.clean_up()
