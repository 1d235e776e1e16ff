"""What lands in status, in Kubernetes Events and in the audit trail."""

from __future__ import annotations

from typing import Any

import pytest

from kubernaut_wfe.core.models import WorkflowExecutionStatus
from kubernaut_wfe_tools.testing.stack import FAILING, finished_status, wfe_body

# The suite's stack lives in the sibling conftest (importlib mode: no absolute path).
from .conftest import Stack  # noqa: TID252

pytestmark = pytest.mark.timeout(120)


def conditions(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or []}


async def test_completed_status_is_stored_as_written_nothing_pruned(stack: Stack) -> None:
    await stack.start_controller()
    await stack.create(wfe_body("exact"))
    done = await stack.wait_phase("exact", "Completed")
    status = done["status"]
    assert WorkflowExecutionStatus.model_validate(status).to_api() == status
    summary = status["pipelineRunStatus"]
    assert summary["status"] == "True"
    assert summary["completedTasks"] == 1
    assert summary["totalTasks"] == 1
    assert status["observedGeneration"] == done["metadata"]["generation"]
    assert all(
        c["observedGeneration"] == done["metadata"]["generation"] for c in status["conditions"]
    )


async def test_failed_run_posts_a_warning_event_and_a_failed_audit_event(stack: Stack) -> None:
    await stack.start_controller()
    await stack.create(wfe_body("sad", image=FAILING, parameters={"FAILURE_MODE": "exit"}))
    await stack.wait_phase("sad", "Failed")

    async def failed_events() -> list[dict[str, Any]]:
        return [
            e
            for e in await stack.events("default")
            if e["involvedObject"]["name"] == "sad" and e["reason"] == "WorkflowFailed"
        ]

    # Events are posted right after the status write: wait for it rather than race it.
    warnings = await stack.wait_for(failed_events, what="the WorkflowFailed Event")
    assert [e["type"] for e in warnings] == ["Warning"]

    async def failed_event() -> list[dict[str, Any]]:
        events = await stack.audit_events("rr-sad")
        return [e for e in events if e["event_type"] == "workflowexecution.workflow.failed"]

    (event,) = await stack.wait_for(failed_event, what="the failed audit event")
    assert event["event_category"] == "workflowexecution"
    assert event["event_outcome"] == "failure"
    assert event["resource_id"] == "sad"
    assert event["namespace"] == "default"


async def test_audit_recorded_tells_the_truth_once_everything_is_stored(stack: Stack) -> None:
    await stack.start_controller()
    await stack.create(wfe_body("truthful", image=FAILING, parameters={"FAILURE_MODE": "oom"}))
    await stack.wait_phase("truthful", "Failed")

    async def recorded() -> dict[str, Any] | None:
        obj = await stack.wfe("truthful") or {}
        found = conditions(obj).get("AuditRecorded")
        return obj if found and found["status"] == "True" else None

    obj = await stack.wait_for(recorded, what="AuditRecorded True")
    stored = await stack.audit_events("rr-truthful")
    assert sorted(e["event_type"] for e in stored) == sorted(obj["status"]["auditedEvents"])
    assert len(stored) == 3


async def test_quota_blocked_child_is_recorded_while_running(stack: Stack) -> None:
    await stack.start_controller()
    await stack.create(
        wfe_body("blocked", image=FAILING, parameters={"FAILURE_MODE": "quota"}, timeout="20s")
    )

    async def blocked() -> dict[str, Any] | None:
        obj = await stack.wfe("blocked") or {}
        summary = (obj.get("status") or {}).get("pipelineRunStatus") or {}
        return obj if summary.get("blockedReason") == "ExceededResourceQuota" else None

    obj = await stack.wait_for(blocked, what="blockedReason while Running")
    assert obj["status"]["phase"] == "Running"
    assert obj["status"]["pipelineRunStatus"]["blockedMessage"]


async def test_run_cancelled_by_someone_else_fails_as_unknown(bare_stack: Stack) -> None:
    stack = bare_stack
    await stack.start_controller()
    await stack.create(wfe_body("cancelled"))
    running = await stack.wait_phase("cancelled", "Running")
    await stack.write_run_status(
        running["status"]["pipelineRunRef"]["name"],
        finished_status("False", "Cancelled", 'PipelineRun "x" was cancelled'),
    )
    failed = await stack.wait_phase("cancelled", "Failed")
    assert failed["status"]["failureDetails"]["reason"] == "Unknown"
    assert conditions(failed)["Ready"]["status"] == "False"


async def test_running_sets_the_created_and_lock_conditions(bare_stack: Stack) -> None:
    stack = bare_stack
    await stack.start_controller()
    await stack.create(wfe_body("conds"))
    running = await stack.wait_phase("conds", "Running")
    found = conditions(running)
    assert found["TektonPipelineCreated"]["status"] == "True"
    assert found["TektonPipelineCreated"]["reason"] == "PipelineCreated"
    assert found["ResourceLocked"]["status"] == "False"
    assert found["ResourceLocked"]["reason"] == "LockAcquired"
    assert found["Ready"]["status"] == "Unknown"

    async def created_events() -> list[dict[str, Any]]:
        return [e for e in await stack.events("default") if e["reason"] == "PipelineRunCreated"]

    created = await stack.wait_for(
        created_events,
        what="the PipelineRunCreated Event",
    )
    assert len(created) == 1
    assert running["status"]["pipelineRunRef"]["name"] in created[0]["message"]


async def test_the_crd_rejects_an_invalid_spec_before_the_controller_sees_it(
    stack: Stack,
) -> None:
    await stack.start_controller()
    body = wfe_body("bad")
    body["spec"]["targetResource"] = "nodash"
    response = await stack.client.post(
        "/apis/kubernaut.ai/v1alpha1/namespaces/default/workflowexecutions", json=body
    )
    assert response.status_code == 422
    assert "targetResource" in response.text
