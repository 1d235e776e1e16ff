"""Beyond the status-write corpus (test_status_corpus.py): the orchestrator's `phase: Failed`
stops the run as Tekton stops it, and a run whose ownership annotation was edited while the
controller was down is still its WFE's (docs/trust-model.md)."""

from __future__ import annotations

import signal
from collections import Counter
from typing import Any

import pytest

from kubernaut_wfe.constants import Annotation, AuditEventType, EventReason
from kubernaut_wfe_tools.testing.stack import RUNS_PATH, finished_status, wfe_body
from kubernaut_wfe_tools.testing.targets import WFE_API

# The suite's stack lives in the sibling conftest (importlib mode: no absolute path).
from .conftest import Stack  # noqa: TID252

pytestmark = pytest.mark.timeout(150)
SUCCEEDED = "Tasks Completed: 1 (Failed: 0, Cancelled 0), Skipped: 0"
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


def status_of(obj: dict[str, Any] | None) -> dict[str, Any]:
    return dict((obj or {}).get("status") or {})


async def event_reasons(stack: Stack, name: str) -> list[str]:
    events = await stack.events("default")
    return [e["reason"] for e in events if e["involvedObject"]["name"] == name]


async def audit_counts(stack: Stack, correlation_id: str) -> Counter[str]:
    return Counter(e["event_type"] for e in await stack.audit_events(correlation_id))


async def succeed(stack: Stack, run_name: str) -> None:
    await stack.write_run_status(run_name, finished_status("True", "Succeeded", SUCCEEDED))


async def test_the_orchestrators_failed_cancels_the_run_and_releases_the_lock(
    stack: Stack,
) -> None:
    await stack.start_controller(cooldown="2s")
    await stack.create(wfe_body("cascade", parameters={"DELAY_SECONDS": "60"}))
    running = await stack.wait_phase("cascade", "Running")
    run_name = running["status"]["pipelineRunRef"]["name"]
    # What the RemediationOrchestrator's cascade writes: phase and free-text reason, no more.
    cascade = {"status": {"phase": "Failed", "failureReason": "RemediationRequest timed out"}}
    path = f"{WFE_API}/namespaces/default/workflowexecutions/cascade/status"
    response = await stack.client.patch(path, json=cascade, headers=MERGE_PATCH)
    assert response.status_code == 200, response.text

    async def cancelled() -> dict[str, Any] | None:
        run = await stack.run(run_name)
        return run if (run or {}).get("spec", {}).get("status") == "Cancelled" else None

    await stack.wait_for(cancelled, what="the run to be cancelled")

    async def completed_failed() -> dict[str, Any] | None:
        found = await stack.wfe("cascade")
        return found if status_of(found).get("completionTime") else None

    failed = await stack.wait_for(completed_failed, what="the Failed status to be completed")
    assert failed["status"]["phase"] == "Failed"
    assert failed["status"]["failureDetails"]["message"] == "RemediationRequest timed out"
    await stack.wait_run_gone(run_name)  # the cooldown ended: the lock is released

    async def failed_once() -> Counter[str] | None:
        counts = await audit_counts(stack, "rr-cascade")
        return counts if AuditEventType.WORKFLOW_FAILED in counts else None

    counts = await stack.wait_for(failed_once, what="the failed audit event")
    assert counts[AuditEventType.WORKFLOW_FAILED] == 1
    assert AuditEventType.WORKFLOW_COMPLETED not in counts
    assert EventReason.EXECUTION_CANCELLED.value in await event_reasons(stack, "cascade")
    assert (await stack.wfe("cascade") or {})["status"]["phase"] == "Failed"


async def test_a_run_whose_uid_annotation_was_edited_is_followed_across_a_restart(
    bare_stack: Stack,
) -> None:
    stack = bare_stack
    first = await stack.start_controller(cooldown="1s")
    created = await stack.create(wfe_body("relabelled"))
    running = await stack.wait_phase("relabelled", "Running")
    run_name = running["status"]["pipelineRunRef"]["name"]
    await first.stop(signal.SIGKILL)
    edit = {
        "metadata": {
            "annotations": {Annotation.WORKFLOW_EXECUTION_UID.value: "someone-else"},
            "labels": None,
        }
    }
    response = await stack.client.patch(f"{RUNS_PATH}/{run_name}", json=edit, headers=MERGE_PATCH)
    assert response.status_code == 200, response.text
    await stack.start_controller(cooldown="1s")

    async def restored() -> bool:
        run = await stack.run(run_name) or {}
        annotations = run.get("metadata", {}).get("annotations") or {}
        uid: str = annotations.get(Annotation.WORKFLOW_EXECUTION_UID.value, "")
        return uid == created["metadata"]["uid"] and bool(run["metadata"].get("labels"))

    await stack.wait_for(restored, what="the run's ownership annotation and labels back")
    assert status_of(await stack.wfe("relabelled"))["phase"] == "Running"
    await succeed(stack, run_name)
    await stack.wait_phase("relabelled", "Completed")
    await stack.wait_run_gone(run_name)
    assert stack.run_creations() == 1
