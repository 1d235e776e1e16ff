"""API trouble the controller must ride out: 5xx on writes, dropped watches, a busy target
freed by a cooldown with several waiters, SIGTERM in the middle of a run."""

from __future__ import annotations

import signal
from typing import Any

import pytest

from kubernaut_wfe.core.naming import pipelinerun_name
from kubernaut_wfe_tools.testing.stack import finished_status, wfe_body

# The suite's stack lives in the sibling conftest (importlib mode: no absolute path).
from .conftest import Stack  # noqa: TID252

pytestmark = pytest.mark.timeout(120)
TARGET = "default/deployment/contested"
SUCCEEDED = "Tasks Completed: 1 (Failed: 0, Cancelled 0), Skipped: 0"


def locked(obj: dict[str, Any] | None) -> bool:
    for condition in ((obj or {}).get("status") or {}).get("conditions") or []:
        if condition["type"] == "ResourceLocked":
            return bool(condition["status"] == "True")
    return False


async def test_transient_errors_on_status_writes_are_retried(stack: Stack) -> None:
    await stack.start_controller()
    stack.faults.add(action="error", status=503, verb="patch", resource="workflowexecutions",
                         subresource="status", count=3)  # fmt: skip
    await stack.create(wfe_body("bumpy"))
    await stack.wait_phase("bumpy", "Completed")
    assert stack.run_creations() == 1


async def test_dropped_watches_are_reopened_and_nothing_is_missed(stack: Stack) -> None:
    await stack.start_controller()
    await stack.create(wfe_body("steady", parameters={"DELAY_SECONDS": "2"}))
    await stack.wait_phase("steady", "Running")
    for resource in ("pipelineruns", "workflowexecutions", "taskruns"):
        stack.faults.add(action="drop-watch", resource=resource, count=1)
    await stack.wait_phase("steady", "Completed")


async def test_the_oldest_waiter_goes_first_and_the_rest_are_deduplicated(
    bare_stack: Stack,
) -> None:
    stack = bare_stack
    await stack.start_controller(cooldown="8s")
    await stack.create(wfe_body("first", target=TARGET))
    running = await stack.wait_phase("first", "Running")
    await stack.write_run_status(
        running["status"]["pipelineRunRef"]["name"], finished_status("True", "Succeeded", SUCCEEDED)
    )
    await stack.wait_phase("first", "Completed")
    await stack.create(wfe_body("second", target=TARGET))

    async def second_locked() -> bool:
        return locked(await stack.wfe("second"))

    await stack.wait_for(second_locked, what="second to wait")
    await stack.create(wfe_body("third", target=TARGET))
    await stack.wait_phase("second", "Running")
    third = await stack.wait_phase("third", "Failed")
    assert third["status"]["failureDetails"]["reason"] == "Deduplicated"
    assert len(await stack.runs()) == 1


async def test_sigterm_mid_run_then_restart_finishes_the_run(stack: Stack) -> None:
    first = await stack.start_controller()
    await stack.create(wfe_body("handover", parameters={"DELAY_SECONDS": "3"}))
    await stack.wait_phase("handover", "Running")
    assert await first.stop(signal.SIGTERM) == 0
    await stack.start_controller()
    await stack.wait_phase("handover", "Completed")
    assert stack.run_creations() == 1


async def test_many_wfes_on_distinct_targets_all_complete(stack: Stack) -> None:
    await stack.start_controller()
    names = [f"bulk-{index}" for index in range(12)]
    for name in names:
        await stack.create(wfe_body(name))
    for name in names:
        await stack.wait_phase(name, "Completed")
    assert len(await stack.runs()) <= len(names)
    assert stack.run_creations() == len(names)
    assert {r["metadata"]["name"] for r in await stack.runs()} <= {
        pipelinerun_name(f"default/deployment/{name}") for name in names
    }
