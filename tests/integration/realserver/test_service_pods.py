"""The node stand-in's service pods on the real API server: a pod of an image it knows runs as a
local process, is probed, restarted after failing its liveness probe, kept NotReady while its
readiness probe fails, and stopped gracefully when deleted (what the controller's own pod relies
on in `tests/integration/install/`, here with a small HTTP server whose answers the test sets).
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from kubernaut_wfe_tools.node_simulator import NodeIdentity, NodeSimulator
from kubernaut_wfe_tools.node_simulator.service_pods.images import ImageConfig, project_paths
from kubernaut_wfe_tools.testing.testcluster import TestCluster

pytestmark = [pytest.mark.timeout(180), pytest.mark.asyncio(loop_scope="module")]

NAMESPACE = "service-pods"
IMAGE = "registry.test/probe-demo:1"
WAIT = 90.0
SERVER = """
import http.server, os, sys
answers = {"/healthz": int(os.environ["HEALTHZ"]), "/readyz": int(os.environ["READYZ"])}
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(answers.get(self.path, 404))
        self.end_headers()
    def log_message(self, *args):
        pass
print("serving as", os.getuid(), flush=True)
http.server.HTTPServer(("0.0.0.0", 8080), Handler).serve_forever()
"""
DEMO_IMAGE = ImageConfig(
    entrypoint=(sys.executable, "-c", SERVER),
    user=65532,
    group=65532,
    working_dir="/tmp",
    env={"PATH": "/usr/bin:/bin"},
    host_paths=project_paths(),
)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def node(
    container_runtime: None, cluster: TestCluster, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[NodeSimulator]:
    cluster.kubectl("create", "namespace", NAMESPACE, check=False)
    async with NodeSimulator(
        cluster.url,
        namespaces=["none"],
        tls=cluster.tls(),
        node=NodeIdentity(name="service-pod-node"),
        images={"probe-demo": DEMO_IMAGE},
        state_dir=tmp_path_factory.mktemp("service-pods"),
        remove_node_on_exit=True,
    ) as started:
        yield started


@pytest_asyncio.fixture(loop_scope="module")
async def api(cluster: TestCluster) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=cluster.url, verify=cluster.tls(), timeout=30) as client:
        yield client


def demo_pod(*, healthz: int, readyz: int, liveness_failures: int = 2) -> dict[str, Any]:
    probe = {"port": "http"}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"demo-{uuid.uuid4().hex[:8]}", "namespace": NAMESPACE},
        "spec": {
            "automountServiceAccountToken": False,
            "terminationGracePeriodSeconds": 5,
            "containers": [
                {
                    "name": "server",
                    "image": IMAGE,
                    "env": [
                        {"name": "HEALTHZ", "value": str(healthz)},
                        {"name": "READYZ", "value": str(readyz)},
                    ],
                    "ports": [{"name": "http", "containerPort": 8080}],
                    "livenessProbe": {
                        "httpGet": {"path": "/healthz", **probe},
                        "periodSeconds": 1,
                        "failureThreshold": liveness_failures,
                    },
                    "readinessProbe": {
                        "httpGet": {"path": "/readyz", **probe},
                        "periodSeconds": 1,
                    },
                    "securityContext": {"runAsNonRoot": True, "readOnlyRootFilesystem": True},
                }
            ],
        },
    }


async def created(api: httpx.AsyncClient, pod: dict[str, Any]) -> str:
    answer = await api.post(f"/api/v1/namespaces/{NAMESPACE}/pods", json=pod)
    assert answer.status_code == 201, answer.text
    return str(pod["metadata"]["name"])


async def until(probe: Callable[[], Awaitable[Any]], what: str, node: NodeSimulator) -> Any:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        found = await probe()
        if found:
            return found
        await asyncio.sleep(0.3)
    pytest.fail(f"{what} within {WAIT:.0f} s; logs: {node.service_pods.log_tails(10)}")


async def pod_of(api: httpx.AsyncClient, name: str) -> dict[str, Any]:
    answer = await api.get(f"/api/v1/namespaces/{NAMESPACE}/pods/{name}")
    return answer.json() if answer.status_code == 200 else {}


async def events_of(api: httpx.AsyncClient, name: str) -> list[tuple[str, str, str]]:
    answer = await api.get(
        f"/api/v1/namespaces/{NAMESPACE}/events",
        params={"fieldSelector": f"involvedObject.name={name}"},
    )
    return [(e["type"], e["reason"], e["message"]) for e in answer.json()["items"]]


def ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def container_status(pod: dict[str, Any]) -> dict[str, Any]:
    statuses = (pod.get("status") or {}).get("containerStatuses") or [{}]
    status: dict[str, Any] = statuses[0]
    return status


async def test_a_failing_liveness_probe_restarts_the_container(
    node: NodeSimulator, api: httpx.AsyncClient
) -> None:
    name = await created(api, demo_pod(healthz=500, readyz=200))

    async def restarted() -> dict[str, Any] | None:
        pod = await pod_of(api, name)
        return pod if container_status(pod).get("restartCount", 0) >= 1 else None

    pod = await until(restarted, "a restart after the liveness probe failed", node)
    assert pod["spec"]["nodeName"] == "service-pod-node"
    last = container_status(pod)["lastState"]["terminated"]
    assert last["exitCode"] == 143, last  # SIGTERM: http.server has no handler for it
    assert last["reason"] == "Error", last
    events = await events_of(api, name)
    assert (
        "Warning",
        "Unhealthy",
        "Liveness probe failed: HTTP probe failed with statuscode: 500",
    ) in events
    assert (
        "Normal",
        "Killing",
        "Container server failed liveness probe, will be restarted",
    ) in events

    async def serving() -> bool:  # the restarted container says it too, once it runs
        return "serving as 65532" in node.service_pods.log_tails(50).get(name, "")

    await until(serving, "the restarted container to serve as uid 65532", node)


async def test_a_failing_readiness_probe_keeps_the_pod_not_ready(
    node: NodeSimulator, api: httpx.AsyncClient
) -> None:
    name = await created(api, demo_pod(healthz=200, readyz=503))

    async def warned() -> bool:
        return (
            "Warning",
            "Unhealthy",
            "Readiness probe failed: HTTP probe failed with statuscode: 503",
        ) in await events_of(api, name)

    await until(warned, "the readiness probe's warning", node)
    pod = await pod_of(api, name)
    assert pod["status"]["phase"] == "Running"
    assert not ready(pod)
    assert container_status(pod)["started"] is True
    assert container_status(pod)["restartCount"] == 0


async def test_a_deleted_pod_is_stopped_gracefully_and_removed(
    node: NodeSimulator, api: httpx.AsyncClient
) -> None:
    name = await created(api, demo_pod(healthz=200, readyz=200))

    async def is_ready() -> bool:
        return ready(await pod_of(api, name))

    await until(is_ready, "the pod to be Ready", node)
    pid = node.service_pods.container_pid(name)
    assert pid is not None
    answer = await api.delete(f"/api/v1/namespaces/{NAMESPACE}/pods/{name}")
    assert answer.status_code == 200, answer.text

    async def gone() -> bool:
        return not await pod_of(api, name)

    await until(gone, "the pod to be deleted", node)
    assert not await asyncio.to_thread(Path(f"/proc/{pid}").exists)
    assert ("Normal", "Killing", "Stopping container server") in await events_of(api, name)
