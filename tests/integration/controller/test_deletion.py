"""Deleting a WFE, and a run deleted under a Running WFE."""

from __future__ import annotations

from typing import Any

import pytest

from kubernaut_wfe.core.naming import pipelinerun_name
from kubernaut_wfe_tools.testing.stack import RUNS_PATH, wfe_body

# The suite's stack lives in the sibling conftest (importlib mode: no absolute path).
from .conftest import Stack  # noqa: TID252

pytestmark = pytest.mark.timeout(120)
TARGET = "default/deployment/doomed"
RUN = pipelinerun_name(TARGET)


async def test_wfe_deleted_while_running_deletes_its_run_and_finalizer(bare_stack: Stack) -> None:
    stack = bare_stack
    await stack.start_controller()
    await stack.create(wfe_body("doomed", target=TARGET))
    await stack.wait_phase("doomed", "Running")
    await stack.delete("doomed")
    await stack.wait_wfe_gone("doomed")
    assert await stack.run(RUN) is None
    reasons = {e["reason"] for e in await stack.events("default")}
    assert "WorkflowExecutionDeleted" in reasons

    async def failed_event() -> list[dict[str, Any]]:
        events = await stack.audit_events("rr-doomed")
        return [e for e in events if e["event_type"] == "workflowexecution.workflow.failed"]

    assert len(await stack.wait_for(failed_event, what="the deleted-while-running event")) == 1


async def test_deleting_a_duplicate_leaves_the_winners_run(bare_stack: Stack) -> None:
    stack = bare_stack
    await stack.start_controller()
    await stack.create(wfe_body("winner", target=TARGET))
    await stack.wait_phase("winner", "Running")
    await stack.create(wfe_body("loser", target=TARGET))
    await stack.wait_phase("loser", "Failed")
    winners_run = await stack.run(RUN)
    assert winners_run is not None
    await stack.delete("loser")
    await stack.wait_wfe_gone("loser")
    still = await stack.run(RUN)
    assert still is not None
    assert still["metadata"]["uid"] == winners_run["metadata"]["uid"]
    assert (await stack.wfe("winner") or {})["status"]["phase"] == "Running"


async def test_deleting_a_pending_wfe_removes_the_finalizer(bare_stack: Stack) -> None:
    stack = bare_stack
    await stack.start_controller(cooldown="1h")
    await stack.create(wfe_body("first", target=TARGET))
    running = await stack.wait_phase("first", "Running")
    await stack.write_run_status(
        running["status"]["pipelineRunRef"]["name"],
        {
            "conditions": [
                {
                    "type": "Succeeded",
                    "status": "True",
                    "reason": "Succeeded",
                    "message": "Tasks Completed: 1 (Failed: 0, Cancelled 0), Skipped: 0",
                    "lastTransitionTime": running["status"]["startTime"],
                }
            ],
            "completionTime": running["status"]["startTime"],
        },
    )
    await stack.wait_phase("first", "Completed")
    await stack.create(wfe_body("queued", target=TARGET))

    async def conditions() -> Any:
        return (await stack.wfe("queued") or {}).get("status", {}).get("conditions")

    await stack.wait_for(
        conditions,
        what="queued to wait",
    )
    await stack.delete("queued")
    await stack.wait_wfe_gone("queued")
    assert await stack.run(RUN) is not None  # the first one's lock stays for its cooldown


async def test_run_deleted_while_running_fails_the_wfe(bare_stack: Stack) -> None:
    stack = bare_stack
    await stack.start_controller()
    await stack.create(wfe_body("orphan", target=TARGET))
    await stack.wait_phase("orphan", "Running")
    response = await stack.client.delete(f"{RUNS_PATH}/{RUN}")
    assert response.status_code in (200, 202)
    failed = await stack.wait_phase("orphan", "Failed")
    details = failed["status"]["failureDetails"]
    assert details["reason"] == "Unknown"
    assert details["message"] == "PipelineRun was deleted externally"
