"""Create → PipelineRun → Running → Completed, end to end with the controller as a process."""

from __future__ import annotations

from typing import Any

import pytest

from kubernaut_wfe.constants import FINALIZER, Annotation, Label
from kubernaut_wfe.core.naming import pipelinerun_name
from kubernaut_wfe_tools.testing.stack import EXECUTION_NAMESPACE, finished_status, wfe_body

# The suite's stack lives in the sibling conftest (importlib mode: no absolute path).
from .conftest import Stack  # noqa: TID252

pytestmark = pytest.mark.timeout(90)


def conditions(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or []}


async def test_hello_world_runs_to_completed(stack: Stack) -> None:
    await stack.start_controller()
    created = await stack.create(wfe_body("hello", parameters={"DELAY_SECONDS": "1"}))
    run_name = pipelinerun_name("default/deployment/hello")

    running = await stack.wait_phase("hello", "Running")
    assert running["status"]["pipelineRunRef"] == {"name": run_name}
    assert running["status"]["startTime"]
    assert FINALIZER in running["metadata"]["finalizers"]
    run = await stack.run(run_name)
    assert run is not None
    assert run["metadata"]["labels"][Label.WORKFLOW_EXECUTION] == "hello"
    assert run["metadata"]["labels"][Label.SOURCE_NAMESPACE] == "default"
    assert (
        run["metadata"]["annotations"][Annotation.WORKFLOW_EXECUTION_UID]
        == created["metadata"]["uid"]
    )
    assert run["spec"]["taskRunTemplate"]["serviceAccountName"] == "kubernaut-workflow-runner"
    params = {p["name"]: p["value"] for p in run["spec"]["params"]}
    assert params["TARGET_RESOURCE"] == "default/deployment/hello"

    done = await stack.wait_phase("hello", "Completed")
    status = done["status"]
    assert status["completionTime"]
    assert status["duration"]
    found = conditions(done)
    assert found["TektonPipelineComplete"]["status"] == "True"
    assert found["Ready"]["status"] == "True"
    assert found["Ready"]["reason"] == "Completed"
    assert status["pipelineRunStatus"]["status"] == "True"


async def test_economy_at_most_five_requests_from_create_to_running(bare_stack: Stack) -> None:
    stack = bare_stack
    await stack.start_controller()
    stack.requests.clear()
    await stack.create(wfe_body("thrifty"))
    await stack.wait_phase("thrifty", "Running")
    calls = [
        (r.method, r.resource, r.subresource)
        for r in stack.requests
        if r.resource in ("workflowexecutions", "pipelineruns") and r.verb != "watch"
    ]
    until_running = calls[: calls.index(("PATCH", "workflowexecutions", "status")) + 1]
    # The controller's five: the finalizer patch, the lock GET, the run's CREATE, the execution
    # record (docs/trust-model.md) and the Running status write (audit bookkeeping may follow in
    # a later, coalesced write).
    assert until_running == [
        ("PATCH", "workflowexecutions", None),
        ("GET", "pipelineruns", None),
        ("POST", "pipelineruns", None),
        ("PATCH", "workflowexecutions", None),
        ("PATCH", "workflowexecutions", "status"),
    ]


async def test_run_status_reaches_the_wfe_through_the_watch_without_polling(
    bare_stack: Stack,
) -> None:
    stack = bare_stack
    await stack.start_controller(cooldown="1h")  # no lock release (a GET) in the way
    await stack.create(wfe_body("watched"))
    running = await stack.wait_phase("watched", "Running")
    stack.requests.clear()
    done = "Tasks Completed: 1 (Failed: 0, Cancelled 0), Skipped: 0"
    await stack.write_run_status(
        running["status"]["pipelineRunRef"]["name"], finished_status("True", "Succeeded", done)
    )
    completed = await stack.wait_phase("watched", "Completed")
    assert completed["status"]["pipelineRunStatus"]["message"] == done
    reads = [r for r in stack.requests if r.verb == "get" and r.resource == "pipelineruns"]
    assert reads == []


async def test_unrecognised_failure_reason_fails_as_unknown(bare_stack: Stack) -> None:
    stack = bare_stack
    await stack.start_controller()
    await stack.create(wfe_body("odd"))
    running = await stack.wait_phase("odd", "Running")
    await stack.write_run_status(
        running["status"]["pipelineRunRef"]["name"],
        finished_status("False", "SomethingOdd", "the cluster had a bad day"),
    )
    failed = await stack.wait_phase("odd", "Failed")
    assert failed["status"]["failureDetails"]["reason"] == "Unknown"


async def test_events_and_audit_trail_of_a_completed_run(stack: Stack) -> None:
    await stack.start_controller()
    await stack.create(wfe_body("trail"))
    await stack.wait_phase("trail", "Completed")

    async def audited() -> dict[str, Any] | None:
        obj = await stack.wfe("trail")
        found = conditions(obj or {}).get("AuditRecorded")
        return obj if found and found["status"] == "True" else None

    obj = await stack.wait_for(audited, what="AuditRecorded True")
    assert sorted(obj["status"]["auditedEvents"]) == [
        "workflowexecution.execution.started",
        "workflowexecution.selection.completed",
        "workflowexecution.workflow.completed",
    ]
    stored = await stack.audit_events("rr-trail")
    assert sorted(e["event_type"] for e in stored) == sorted(obj["status"]["auditedEvents"])

    async def reasons() -> set[str]:
        return {
            e["reason"]
            for e in await stack.events("default")
            if e["involvedObject"]["name"] == "trail"
        }

    async def both_posted() -> bool:
        return {"PipelineRunCreated", "WorkflowCompleted"} <= await reasons()

    await stack.wait_for(both_posted, what="the Events")


async def test_nothing_of_kopf_is_written_on_the_objects(stack: Stack) -> None:
    await stack.start_controller()
    await stack.create(wfe_body("clean"))
    done = await stack.wait_phase("clean", "Completed")
    assert done["metadata"]["finalizers"] == [FINALIZER]
    assert not any("kopf" in key for key in done["metadata"].get("annotations") or {})
    for run in await stack.runs():
        meta = run["metadata"]
        assert not meta.get("finalizers")
        assert not any("kopf" in key for key in meta.get("annotations") or {})


async def test_sigterm_stops_the_controller_cleanly(stack: Stack) -> None:
    controller = await stack.start_controller()
    await stack.create(wfe_body("last"))
    await stack.wait_phase("last", "Completed")
    assert await controller.stop() == 0


async def test_pipelinerun_lands_in_the_execution_namespace_only(stack: Stack) -> None:
    await stack.start_controller()
    # A run of one second: with DELAY_SECONDS 0 the phase can pass Running between two polls.
    await stack.create(wfe_body("placed", namespace="team-a", parameters={"DELAY_SECONDS": "1"}))
    await stack.wait_phase("placed", "Running", namespace="team-a")
    assert await stack.runs("team-a") == []
    assert [r["metadata"]["namespace"] for r in await stack.runs()] == [EXECUTION_NAMESPACE]
