"""The raw-HTTP floor of the create burst: a plain aiohttp script, watch-driven like the
controller, doing only the five calls a new WFE needs (finalizer patch, GET run, POST run,
execution-record patch, status patch) with the controller's concurrency. No validation, no
cache, no logging, no audit. The run is a PipelineRun, or with ENGINE `job` a Job
(`bench.job_objects`).

Run as a child process: `python -m bench.floor KUBECONFIG COUNT CONCURRENCY [ENGINE]` (the
controller's kubeconfig: the same server, identity and permissions; ENGINE `tekton`, the default,
or `job`); prints `ready` once its watch is open and `done` after COUNT WFEs.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NamedTuple

import aiohttp

from bench.job_objects import floor_job, floor_running_status
from bench.objects import EXECUTION_NAMESPACE, IMAGE, RFC3339, WFE_NAMESPACE, run_metadata
from kubernaut_wfe.adapters.kube_connection import KubeConnection
from kubernaut_wfe.adapters.kubeconfig import load_kubeconfig
from kubernaut_wfe.constants import FINALIZER, ExecutionEngine
from kubernaut_wfe.core.record import record_of_run

WFES = f"/apis/kubernaut.ai/v1alpha1/namespaces/{WFE_NAMESPACE}/workflowexecutions"
RUNS = f"/apis/tekton.dev/v1/namespaces/{EXECUTION_NAMESPACE}/pipelineruns"
JOBS = f"/apis/batch/v1/namespaces/{EXECUTION_NAMESPACE}/jobs"
MERGE = {"Content-Type": "application/merge-patch+json"}
NOT_FOUND = 404


def run_body(wfe: dict[str, Any], run_name: str) -> dict[str, Any]:
    """A PipelineRun like the controller's (labels, annotations, bundle, params, security)."""
    spec = wfe["spec"]
    target = spec["targetResource"]
    return {
        "apiVersion": "tekton.dev/v1",
        "kind": "PipelineRun",
        "metadata": run_metadata(wfe, run_name),
        "spec": {
            "pipelineRef": {
                "resolver": "bundles",
                "params": [
                    {"name": "bundle", "value": IMAGE},
                    {"name": "name", "value": "workflow"},
                    {"name": "kind", "value": "pipeline"},
                ],
            },
            "params": [
                *({"name": k, "value": v} for k, v in spec["parameters"].items()),
                {"name": "TARGET_RESOURCE", "value": target},
            ],
            "taskRunTemplate": {"serviceAccountName": "kubernaut-workflow-runner"},
        },
    }


def running_status(wfe: dict[str, Any], run_name: str) -> dict[str, Any]:
    """The status the controller writes on Running (phase, ref, the three conditions)."""
    now = datetime.now(UTC).strftime(RFC3339)
    generation = wfe["metadata"].get("generation", 1)

    def condition(kind: str, status: str, reason: str) -> dict[str, Any]:
        return {
            "type": kind,
            "status": status,
            "reason": reason,
            "message": reason,
            "lastTransitionTime": now,
            "observedGeneration": generation,
        }

    return {
        "status": {
            "phase": "Running",
            "observedGeneration": generation,
            "startTime": now,
            "pipelineRunRef": {"name": run_name},
            "conditions": [
                condition("TektonPipelineCreated", "True", "PipelineCreated"),
                condition("ResourceLocked", "False", "LockAcquired"),
                condition("TektonPipelineRunning", "True", "PipelineStarted"),
            ],
        }
    }


class RunCalls(NamedTuple):
    """Where the floor creates a WFE's run, its body and the Running status that names it."""

    collection: str
    body: Callable[[dict[str, Any], str], dict[str, Any]]
    running_status: Callable[[dict[str, Any], str], dict[str, Any]]


ENGINES = {
    ExecutionEngine.TEKTON.value: RunCalls(RUNS, run_body, running_status),
    ExecutionEngine.JOB.value: RunCalls(JOBS, floor_job, floor_running_status),
}


async def start_one(session: aiohttp.ClientSession, wfe: dict[str, Any], kind: RunCalls) -> None:
    """The five calls, in the controller's order."""
    name = wfe["metadata"]["name"]
    run_name = f"floor-{name}"
    patch = {"metadata": {"finalizers": [FINALIZER]}}
    async with session.patch(f"{WFES}/{name}", json=patch, headers=MERGE) as response:
        response.raise_for_status()
        wfe = await response.json()
    async with session.get(f"{kind.collection}/{run_name}") as response:
        if response.status != NOT_FOUND:
            response.raise_for_status()
        await response.read()
    async with session.post(kind.collection, json=kind.body(wfe, run_name)) as response:
        response.raise_for_status()
        run = await response.json()
    record = {"metadata": {"annotations": record_of_run(run).annotation()}}
    async with session.patch(f"{WFES}/{name}", json=record, headers=MERGE) as response:
        response.raise_for_status()
        await response.read()
    status = kind.running_status(wfe, run_name)
    async with session.patch(f"{WFES}/{name}/status", json=status, headers=MERGE) as response:
        response.raise_for_status()
        await response.read()


async def watch(session: aiohttp.ClientSession, queue: asyncio.Queue[dict[str, Any]]) -> None:
    """Queue every ADDED WFE. When the server ends the stream (a real API server closes a watch
    that falls behind), watch again from the last version seen, as a controller does."""
    params = {"watch": "true", "allowWatchBookmarks": "true"}
    for attempt in itertools.count():
        async with session.get(WFES, params=params, timeout=aiohttp.ClientTimeout()) as response:
            response.raise_for_status()
            if attempt == 0:
                print("ready", flush=True)
            async for line in response.content:
                event = json.loads(line)
                if event["type"] == "ERROR":
                    raise RuntimeError(f"the watch failed: {event['object']}")
                params["resourceVersion"] = event["object"]["metadata"]["resourceVersion"]
                if event["type"] == "ADDED":
                    queue.put_nowait(event["object"])


async def main(
    kubeconfig: str, count: int, concurrency: int, engine: str = ExecutionEngine.TEKTON.value
) -> None:
    """Start `count` WFEs as they appear, `concurrency` at a time, each on a run of `engine`."""
    kind = ENGINES[engine]
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    done = 0
    finished = asyncio.Event()

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal done
        while True:
            wfe = await queue.get()
            await start_one(session, wfe, kind)
            done += 1
            if done >= count:
                finished.set()

    # The controller's own connection: the same server, TLS and token.
    connection = KubeConnection.open(load_kubeconfig(kubeconfig))
    token = connection.token.read_now() if connection.token is not None else None
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    connector = aiohttp.TCPConnector(limit=0, ssl=connection.tls or True)
    async with aiohttp.ClientSession(
        base_url=connection.server, connector=connector, headers=headers
    ) as session:
        tasks = [asyncio.create_task(watch(session, queue))]
        tasks += [asyncio.create_task(worker(session)) for _ in range(concurrency)]
        waiter = asyncio.create_task(finished.wait())
        await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
        for task in [waiter, *tasks]:
            task.cancel()
        for task in tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
    print("done", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), *sys.argv[4:5]))
