"""The node stand-in's Job controller against the real one: the same Job, run on the real API
server (kube-controller-manager's Job controller, the stand-in as the kubelet) and on the API
emulator (the stand-in playing both, `play_job_controller=True`), must end with the same status
(conditions in order with their reasons and messages, counters, which fields are there) and the
same Events on the Job (types, reasons, messages; pod names aside). Times and uids differ."""

from __future__ import annotations

import asyncio
import contextlib
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

import httpx
import pytest

from kubernaut_wfe_tools.emulator import ApiEmulator
from kubernaut_wfe_tools.node_simulator import NodeSimulator, Pacing
from kubernaut_wfe_tools.node_simulator.samples import workflow_job
from kubernaut_wfe_tools.testing.stack import EXECUTION_NAMESPACE
from kubernaut_wfe_tools.testing.testcluster import TestCluster

pytestmark = pytest.mark.timeout(240)

NS = EXECUTION_NAMESPACE
WAIT = 150.0
"""How long a Job may take to end (generous: a disrupted pod is replaced after a 10 s back-off,
and the machine is shared)."""
PACING = Pacing(sandbox=timedelta(0), image_pull=timedelta(0))
JOBS = f"/apis/batch/v1/namespaces/{NS}/jobs"
PODS = f"/api/v1/namespaces/{NS}/pods"
EVENTS = f"/api/v1/namespaces/{NS}/events"
TERMINAL = {"Complete", "Failed"}

CASES: dict[str, dict[str, Any]] = {
    "success": {"env": {"DELAY_SECONDS": "1"}},
    "exit": {"env": {"FAILURE_MODE": "exit", "DELAY_SECONDS": "1"}},
    "oom": {"env": {"FAILURE_MODE": "oom", "DELAY_SECONDS": "1"}},
    "disruption-then-success": {"env": {"FAILURE_MODE": "disruption", "DELAY_SECONDS": "0"}},
    "deadline": {"env": {"FAILURE_MODE": "timeout"}, "active_deadline_seconds": 3},
}


@contextlib.asynccontextmanager
async def real_server(cluster: TestCluster) -> AsyncIterator[httpx.AsyncClient]:
    """The real API server with the stand-in as its kubelet (its Job controller is the real
    one)."""
    async with (
        NodeSimulator(cluster.url, namespaces=[NS], tls=cluster.tls(), pacing=PACING),
        httpx.AsyncClient(base_url=cluster.url, verify=cluster.tls(), timeout=30) as client,
    ):
        yield client


@contextlib.asynccontextmanager
async def emulator() -> AsyncIterator[httpx.AsyncClient]:
    """A fresh API emulator with the stand-in playing the kubelet and the Job controller."""
    emu = ApiEmulator()
    async with emu.serving(), httpx.AsyncClient(base_url=emu.url, timeout=30) as client:
        (
            await client.post("/api/v1/namespaces", json={"metadata": {"name": NS}})
        ).raise_for_status()
        async with NodeSimulator(emu.url, namespaces=[NS], pacing=PACING, play_job_controller=True):
            yield client


async def eventually(probe: Callable[[], Awaitable[Any]], what: str) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not (found := await probe()):
        if loop.time() > deadline:
            raise AssertionError(f"not {what} after {WAIT:.0f} s")
        await asyncio.sleep(0.2)
    return found


async def job_events(api: httpx.AsyncClient, name: str) -> list[dict[str, Any]]:
    selector = f"involvedObject.kind=Job,involvedObject.name={name}"
    answer = await api.get(EVENTS, params={"fieldSelector": selector})
    answer.raise_for_status()
    items: list[dict[str, Any]] = answer.json()["items"]
    return sorted(items, key=lambda e: (e["firstTimestamp"], e["metadata"]["name"]))


async def run_to_the_end(
    api: httpx.AsyncClient, name: str, options: Mapping[str, Any]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Create the Job, wait for its terminal condition and the Event that says so; the Job's
    status and Events."""
    (await api.post(JOBS, json=workflow_job(name, wfe=name, **options))).raise_for_status()

    async def ended() -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        job = (await api.get(f"{JOBS}/{name}")).json()
        terminal = [c for c in job["status"].get("conditions", []) if c["type"] in TERMINAL]
        if not terminal:
            return None
        said = "Completed" if terminal[0]["type"] == "Complete" else terminal[0]["reason"]
        events = await job_events(api, name)
        return (job, events) if said in {e["reason"] for e in events} else None

    found: tuple[dict[str, Any], list[dict[str, Any]]] = await eventually(ended, f"{name} ended")
    return found


def comparable_status(status: Mapping[str, Any]) -> dict[str, Any]:
    """The status without its times: conditions in order (type, status, reason, message),
    counters, and which fields are there."""
    return {
        "fields": sorted(status),
        "conditions": [
            (c["type"], c["status"], c.get("reason"), c.get("message"))
            for c in status.get("conditions", [])
        ],
        "conditions probed when changed": [
            c.get("lastProbeTime") == c.get("lastTransitionTime")
            for c in status.get("conditions", [])
        ],
        **{
            key: status.get(key)
            for key in ("active", "succeeded", "failed", "terminating", "ready")
        },
        "uncountedTerminatedPods": status.get("uncountedTerminatedPods"),
    }


def comparable_events(events: list[dict[str, Any]], job: str) -> list[tuple[Any, ...]]:
    pod_name = re.compile(rf"\b{re.escape(job)}-[a-z0-9]{{5}}\b")
    return [
        (
            event["type"],
            event["reason"],
            pod_name.sub(f"{job}-<pod>", event["message"]),
            event["source"],
            event.get("reportingComponent"),
            event["involvedObject"]["kind"],
            event["count"],
        )
        for event in events
    ]


async def remove(api: httpx.AsyncClient, name: str) -> None:
    """Delete the Job and its pods on the real server, whatever state they are in."""
    await api.request("DELETE", f"{JOBS}/{name}", json={"propagationPolicy": "Background"})
    pods = await api.get(PODS, params={"labelSelector": f"batch.kubernetes.io/job-name={name}"})
    for pod in pods.json().get("items") or []:
        path = f"{PODS}/{pod['metadata']['name']}"
        merge = {"Content-Type": "application/merge-patch+json"}
        await api.patch(path, json={"metadata": {"finalizers": None}}, headers=merge)
        await api.request("DELETE", path, json={"gracePeriodSeconds": 0})


@pytest.mark.parametrize("case", list(CASES))
async def test_the_stand_in_ends_a_job_as_the_real_job_controller_does(
    case: str, cluster: TestCluster
) -> None:
    name = f"wfe-{secrets.token_hex(8)}"
    options = CASES[case]
    async with real_server(cluster) as real, emulator() as emulated:
        try:
            (real_job, real_events), (emulated_job, emulated_events) = await asyncio.gather(
                run_to_the_end(real, name, options), run_to_the_end(emulated, name, options)
            )
        finally:
            await remove(real, name)
    expected = comparable_status(real_job["status"])
    assert comparable_status(emulated_job["status"]) == expected
    assert ("completionTime" in emulated_job["status"]) == ("completionTime" in expected["fields"])
    assert comparable_events(emulated_events, name) == comparable_events(real_events, name)
