"""How the Job rows' Jobs succeed on each target.

Emulator: no Job controller and no kubelet run there, so the benchmark writes, in-process, what
they write when the workflow succeeds: the pod (created, then its `Succeeded` status) and the
Job's terminal status (`bench.job_objects`), `WRITE_CHUNK` Jobs per loop turn.

Real API server: kube-controller-manager's Job controller has created each Job's pod already,
and nothing runs it until the node stand-in (`bench.node_stand_in`, a child process) starts: it
binds and runs every pod (`DELAY_SECONDS` 0), and the real Job controller completes the Jobs.
"""

from __future__ import annotations

import asyncio
import copy
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench import harness
from bench.job_objects import job_pod, succeeded_job_status, succeeded_pod_status
from bench.objects import EXECUTION_NAMESPACE
from kubernaut_wfe.constants import JOB_PLURAL
from kubernaut_wfe_tools.emulator import ApiEmulator
from kubernaut_wfe_tools.emulator.admission import WriteOptions
from kubernaut_wfe_tools.testing.testcluster import TestCluster

WRITE_CHUNK = 50
"""Emulator: Jobs completed per loop turn (the server keeps serving in between)."""
STAND_IN_START_TIMEOUT = 60.0


async def succeed_jobs_in_emulator(emu: ApiEmulator) -> None:
    """Every Job of the execution namespace succeeds: its pod appears and succeeds, then the
    Job's terminal status is written (the instant the bench's Job timeline records)."""
    jobs = emu.objects(JOB_PLURAL, EXECUTION_NAMESPACE)
    pods, job_resource = emu.resource("pods"), emu.resource(JOB_PLURAL)
    for start in range(0, len(jobs), WRITE_CHUNK):
        for job in jobs[start : start + WRITE_CHUNK]:
            now = datetime.now(UTC)
            pod = emu.lifecycle.create(pods, EXECUTION_NAMESPACE, job_pod(job), WriteOptions())
            emu.lifecycle.update(
                pods, EXECUTION_NAMESPACE, pod["metadata"]["name"],
                {**pod, "status": succeeded_pod_status(pod, now)},
                subresource="status", options=WriteOptions(),
            )  # fmt: skip
            emu.lifecycle.update(
                job_resource, EXECUTION_NAMESPACE, job["metadata"]["name"],
                {**copy.deepcopy(job), "status": succeeded_job_status(job, now)},
                subresource="status", options=WriteOptions(),
            )  # fmt: skip
        await asyncio.sleep(0)


async def start_node_stand_in(cluster: TestCluster, log: Path) -> asyncio.subprocess.Process:
    """The kubelet of the execution namespace's pods on the real server, started and playing
    (the admin's identity: its requests are not the controller's); its log goes to `log`."""
    with log.open("wb") as stderr:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.node_stand_in",
            str(cluster.admin_kubeconfig), EXECUTION_NAMESPACE,
            stdout=asyncio.subprocess.PIPE, stderr=stderr,
        )  # fmt: skip
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), STAND_IN_START_TIMEOUT)
    if line.strip() != b"ready":
        await process.wait()
        harness.exit_check(process, "node stand-in", log)()
        raise harness.BenchTimeoutError(f"the node stand-in said {line!r} instead of ready")
    return process
