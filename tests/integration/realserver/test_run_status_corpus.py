"""The run-status corpus (`tests/corpus/run_statuses.yaml`) on the real API server: the
controller as its own process; no Tekton simulator and no node stand-in, so the test alone plays
Tekton (it writes each PipelineRun's status) and the kubelet (it writes each Job pod's status,
from which kube-controller-manager's real Job controller makes the Job's), or writes the Job's
status itself. Each case's write is refused by the API server where the corpus says so, and the
WFE ends as the corpus says: Failed with its reason and a bounded status, Completed, or still
Running without a hot loop until a well-formed end, which it then mirrors. Every WFE's audit
trail holds each event once. Every case runs at once in one controller, which keeps serving a
well-formed WFE of each engine started after them and never logs a traceback."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest

from kubernaut_wfe.constants import AuditEventType, FailureReason, Phase
from kubernaut_wfe_tools.testing.catalog_fixtures import catalog_variant
from kubernaut_wfe_tools.testing.run_status_corpus import (
    RunStatusCase,
    RunVerdict,
    StatusWriter,
    run_status_cases,
)
from kubernaut_wfe_tools.testing.stack import (
    EXECUTION_NAMESPACE,
    RFC3339,
    RUNS_PATH,
    finished_status,
    serving_stack,
    sqlite_audit_service,
    wfe_body,
)
from kubernaut_wfe_tools.testing.testcluster import TestCluster

from .conftest import ServerStack  # noqa: TID252

pytestmark = pytest.mark.timeout(300)

CASES = run_status_cases()
JOBS = f"/apis/batch/v1/namespaces/{EXECUTION_NAMESPACE}/jobs"
PODS = f"/api/v1/namespaces/{EXECUTION_NAMESPACE}/pods"
STATUS_BOUND = 256 * 1024
"""Bytes of a WFE's status, whatever its run says."""
QUIET = 5.0
"""Seconds a WFE whose run says nothing conclusive is watched for status writes."""
QUIET_WRITES = 2
"""Status writes allowed in that time (a refreshed summary, a resync): more is a hot loop."""
SUCCEEDED = "Tasks Completed: 1 (Failed: 0, Cancelled 0), Skipped: 0"


class CorpusStack(ServerStack):
    """Every case at once on a shared 2-core machine: longer waits."""

    wait_timeout: ClassVar[float] = 150.0


@pytest.fixture
async def stack(cluster: TestCluster, tmp_path: Path) -> AsyncIterator[ServerStack]:
    """The stack without the Tekton simulator and the node stand-in: nobody but the test writes
    the runs' and pods' status (kube-controller-manager's Job controller writes the Jobs')."""
    async with (
        sqlite_audit_service(tmp_path) as audit_url,
        serving_stack(
            CorpusStack,
            tmp_path,
            audit_url,
            cluster=cluster,
            namespaces=(EXECUTION_NAMESPACE,),
            tekton=False,
        ) as started,
    ):
        yield started


class CaseRun:
    """One WFE on the shared stack, its run's status written as its case says."""

    def __init__(self, stack: ServerStack, name: str, writer: StatusWriter) -> None:
        self.stack = stack
        self.name = name
        self.writer = writer
        self.run_name = ""

    def body(self) -> dict[str, Any]:
        if self.writer == StatusWriter.PIPELINERUN:
            return wfe_body(self.name)
        changes = {
            "workflowRef.executionEngine": "job",
            "targetResource": f"default/deployment/{self.name}",
        }
        return catalog_variant(changes, name=self.name)

    async def start(self) -> dict[str, Any]:
        await self.stack.create(self.body())
        running = await self.stack.wait_phase(self.name, Phase.RUNNING)
        self.run_name = running["status"]["executionRef"]["name"]
        return running

    async def pod_path(self) -> str:
        """The Job's pod, once kube-controller-manager's Job controller made it."""

        async def made() -> list[dict[str, Any]]:
            selector = f"batch.kubernetes.io/job-name={self.run_name}"
            return await self.stack.items(f"{PODS}?labelSelector={selector}")

        pods = await self.stack.wait_for(made, what=f"{self.name}: the Job's pod")
        return f"{PODS}/{pods[0]['metadata']['name']}"

    async def put_status(self, path: str, document: Any, case: RunStatusCase | None = None) -> int:
        """PUT `document` as the object's status (read again after a 409); the answer's code."""
        for _ in range(10):
            stored = await self.stack.read(path)
            assert stored is not None, path
            status = case.written(stored) if case is not None else document
            answer = await self.stack.client.put(
                f"{path}/status", json={**stored, "status": status}
            )
            if answer.status_code != 409:
                return answer.status_code
        raise AssertionError(f"{self.name}: the status write kept conflicting")

    async def write(self, case: RunStatusCase) -> int:
        if case.writer == StatusWriter.PIPELINERUN:
            return await self.put_status(f"{RUNS_PATH}/{self.run_name}", case.status)
        if case.writer == StatusWriter.JOB:
            return await self.put_status(f"{JOBS}/{self.run_name}", None, case)
        return await self.put_status(await self.pod_path(), case.status)

    async def succeed(self) -> None:
        """A well-formed success, as Tekton (or the kubelet, for a Job's pod) writes it."""
        if self.writer == StatusWriter.PIPELINERUN:
            code = await self.put_status(
                f"{RUNS_PATH}/{self.run_name}", finished_status("True", "Succeeded", SUCCEEDED)
            )
        else:
            now = datetime.now(UTC)
            terminated = {
                "exitCode": 0,
                "reason": "Completed",
                "startedAt": (now - timedelta(seconds=2)).strftime(RFC3339),
                "finishedAt": now.strftime(RFC3339),
            }
            container = {
                "name": "workflow",
                "image": "quay.io/kubernaut/workflows/hello-world:v1",
                "imageID": "",
                "ready": False,
                "restartCount": 0,
                "state": {"terminated": terminated},
            }
            code = await self.put_status(
                await self.pod_path(), {"phase": "Succeeded", "containerStatuses": [container]}
            )
        assert code == 200, f"{self.name}: the well-formed end was refused ({code})"

    def status_writes(self) -> int:
        return len(
            self.stack.requests.filter(
                verb="patch", resource="workflowexecutions", name=self.name, subresource="status"
            )
        )

    async def ended(self, phase: str) -> dict[str, Any]:
        """The WFE once `phase`, its status bounded, its trail stored with each event once."""
        wfe = await self.stack.wait_phase(self.name, phase)
        assert len(json.dumps(wfe["status"])) < STATUS_BOUND, self.name
        ending = (
            AuditEventType.WORKFLOW_COMPLETED
            if phase == Phase.COMPLETED
            else AuditEventType.WORKFLOW_FAILED
        )

        async def stored() -> Counter[str] | None:
            events = await self.stack.audit_events(wfe["spec"]["remediationRequestRef"]["name"])
            counts = Counter(str(event["event_type"]) for event in events)
            return counts if counts[ending.value] else None

        counts = await self.stack.wait_for(stored, what=f"{self.name}: {ending} stored")
        assert counts[ending.value] == 1, (self.name, counts)
        assert counts[AuditEventType.EXECUTION_STARTED.value] == 1, (self.name, counts)
        return wfe


async def play(stack: ServerStack, case: RunStatusCase) -> None:
    run = CaseRun(stack, case.name, case.writer)
    await run.start()
    code = await run.write(case)
    if case.refused_by_api_server:
        assert code in (400, 422), f"{case.name}: the API server stored it ({code})"
    else:
        assert code == 200, f"{case.name}: the API server refused it ({code})"
    if case.refused_by_api_server or case.verdict == RunVerdict.WAITS:
        before = run.status_writes()
        await asyncio.sleep(QUIET)  # watched for writes, not timed
        wfe = await stack.wfe(case.name)
        assert wfe is not None
        assert wfe["status"]["phase"] == Phase.RUNNING, (case.name, wfe["status"])
        assert run.status_writes() - before <= QUIET_WRITES, case.name
        await run.succeed()
        await run.ended(Phase.COMPLETED)
        return
    if case.verdict == RunVerdict.COMPLETES:
        await run.ended(Phase.COMPLETED)
        return
    wfe = await run.ended(Phase.FAILED)
    details = wfe["status"]["failureDetails"]
    assert details["reason"] == case.reason, (case.name, details)
    assert details["reason"] in {reason.value for reason in FailureReason}
    assert len(details["message"]) <= 4096, case.name


async def test_every_run_status_ends_as_the_corpus_says(stack: ServerStack) -> None:
    controller = await stack.start_controller(cooldown="2s")
    # A well-formed WFE of each engine, running alongside every case, then ended well.
    alongside = [
        CaseRun(stack, f"alongside-{writer.value}", writer)
        for writer in (StatusWriter.PIPELINERUN, StatusWriter.JOB)
    ]
    await asyncio.gather(*(run.start() for run in alongside))
    await asyncio.gather(*(play(stack, case) for case in CASES))
    for run in alongside:
        await run.succeed()
        await run.ended(Phase.COMPLETED)
    assert controller.returncode is None
    assert "Traceback" not in controller.log()
    creations = stack.run_creations() + len(stack.requests.filter(verb="create", resource="jobs"))
    assert creations == len(CASES) + len(alongside)  # one run per WFE, whatever it said
