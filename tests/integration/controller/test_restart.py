"""The controller SIGKILLed at several points of a run's life and started again: one run per
WFE, the right final phase, and each due audit event stored exactly once."""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from kubernaut_wfe_tools.testing.stack import wfe_body

# The suite's stack lives in the sibling conftest (importlib mode: no absolute path).
from .conftest import Stack  # noqa: TID252

pytestmark = pytest.mark.timeout(150)


async def assert_trail_once(stack: Stack, correlation_id: str, expected: set[str]) -> None:
    async def complete() -> list[dict[str, Any]] | None:
        events = await stack.audit_events(correlation_id)
        return events if {e["event_type"] for e in events} >= expected else None

    events = await stack.wait_for(complete, what="the audit trail")
    counts = Counter(e["event_type"] for e in events)
    assert set(counts) == expected
    assert all(count == 1 for count in counts.values()), counts


TRAIL = {
    "workflowexecution.selection.completed",
    "workflowexecution.execution.started",
    "workflowexecution.workflow.completed",
}


async def test_killed_after_creating_the_run_before_writing_running(stack: Stack) -> None:
    first = await stack.start_controller()
    stack.faults.add(action="error", status=503, verb="patch", resource="workflowexecutions",
                         subresource="status", count=10_000)  # fmt: skip
    await stack.create(wfe_body("interrupted", parameters={"DELAY_SECONDS": "2"}))
    await stack.wait_for(stack.runs, what="the run to be created")
    await first.stop(signal.SIGKILL)
    stack.faults.clear()
    assert "status" not in (await stack.wfe("interrupted") or {})
    await stack.start_controller()
    await stack.wait_phase("interrupted", "Completed")
    assert stack.run_creations() == 1
    assert len(await stack.runs()) == 1
    await assert_trail_once(stack, "rr-interrupted", TRAIL)


async def test_killed_while_running(stack: Stack) -> None:
    first = await stack.start_controller()
    await stack.create(wfe_body("midway", parameters={"DELAY_SECONDS": "3"}))
    await stack.wait_phase("midway", "Running")
    await first.stop(signal.SIGKILL)
    await stack.start_controller()
    await stack.wait_phase("midway", "Completed")
    assert stack.run_creations() == 1
    await assert_trail_once(stack, "rr-midway", TRAIL)


async def test_killed_right_after_the_terminal_write(stack: Stack) -> None:
    first = await stack.start_controller(cooldown="1h")
    await stack.create(wfe_body("finished"))
    await stack.wait_phase("finished", "Completed")
    await first.stop(signal.SIGKILL)
    await stack.start_controller(cooldown="1h")
    await assert_trail_once(stack, "rr-finished", TRAIL)

    async def audited() -> dict[str, Any] | None:
        obj = await stack.wfe("finished") or {}
        return obj if len(obj["status"].get("auditedEvents") or []) == 3 else None

    obj = await stack.wait_for(audited, what="auditedEvents after the restart")
    assert obj["status"]["phase"] == "Completed"
    assert stack.run_creations() == 1
    assert len(await stack.runs()) == 1


async def test_failed_wfe_stays_failed_across_a_restart(stack: Stack) -> None:
    first = await stack.start_controller()
    body = wfe_body("broken", image="quay.io/kubernaut/workflows/failing:v1")
    body["spec"]["parameters"]["FAILURE_MODE"] = "exit"
    await stack.create(body)
    failed = await stack.wait_phase("broken", "Failed")
    await first.stop(signal.SIGKILL)
    await stack.start_controller()
    await assert_trail_once(
        stack,
        "rr-broken",
        {
            "workflowexecution.selection.completed",
            "workflowexecution.execution.started",
            "workflowexecution.workflow.failed",
        },
    )
    again = await stack.wfe("broken") or {}
    assert again["status"]["failureDetails"] == failed["status"]["failureDetails"]
    assert stack.run_creations() == 1


async def test_a_restart_reads_no_run_of_a_settled_wfe(stack: Stack) -> None:
    """Finished WFEs whose lock is released cost a restarted controller one LIST of the runs,
    not one GET of a long-gone run each."""
    names = ("settled-a", "settled-b")
    first = await stack.start_controller(cooldown="0s")
    for name in names:
        await stack.create(wfe_body(name))
    for name in names:
        await stack.wait_for(all_audited(stack, name), what=f"{name} settled")

    async def released() -> bool:
        return not await stack.runs()

    await stack.wait_for(released, what="the locks released")
    await first.stop()
    # As if the first controller had died after DataStorage took workflow.completed and before
    # it recorded that: the restart has this one thing to do for each WFE.
    for name in names:
        status = (await stack.wfe(name) or {})["status"]
        await stack.write_wfe_status(name, {**status, "auditedEvents": status["auditedEvents"][:2]})
    mark = len(stack.requests.filter(resource="pipelineruns"))
    await stack.start_controller(cooldown="0s")
    for name in names:
        await stack.wait_for(all_audited(stack, name), what=f"{name} recorded")
    verbs = [r.verb for r in stack.requests.filter(resource="pipelineruns")[mark:]]
    assert "get" not in verbs
    assert "list" in verbs
    for name in names:
        await assert_trail_once(stack, f"rr-{name}", TRAIL)


def all_audited(stack: Stack, name: str) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        status = (await stack.wfe(name) or {}).get("status") or {}
        return len(status.get("auditedEvents") or []) == len(TRAIL)

    return probe
