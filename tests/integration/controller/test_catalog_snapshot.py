"""The catalog-snapshot WorkflowExecution the platform's newest orchestrator writes (platform
contract 2026-08): run to the end with only its declared parameters, refused engines, and the
status in both vocabularies, on the real API server with the Tekton simulator."""

from __future__ import annotations

from typing import Any

import pytest

from kubernaut_wfe.constants import EventReason, FailureReason
from kubernaut_wfe_tools.testing.catalog_fixtures import catalog_variant

from .conftest import Stack  # noqa: TID252

pytestmark = pytest.mark.timeout(120)


def catalog_body(name: str, *, target: str | None = None, **workflow_ref: Any) -> dict[str, Any]:
    """The shared catalog snapshot (hello-world bundle) on a target of its own."""
    changes = {f"workflowRef.{key}": value for key, value in workflow_ref.items()}
    changes["targetResource"] = target or f"default/deployment/{name}"
    return catalog_variant(changes, name=name)


def conditions(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in obj["status"].get("conditions") or []}


async def test_a_catalog_snapshot_runs_with_only_its_declared_parameters(stack: Stack) -> None:
    controller = await stack.start_controller()
    body = catalog_body("we-rr-declared", declaredParameterNames={"DELAY_SECONDS": True})
    body["spec"]["parameters"]["API_TOKEN"] = "never-passed-value"
    await stack.create(body)
    done = await stack.wait_phase("we-rr-declared", "Completed")
    status = done["status"]
    assert status["executionRef"] == status["pipelineRunRef"]
    assert status["executionStatus"]["status"] == "True"
    found = conditions(done)
    for kind, reason in (
        ("ExecutionCreated", "ExecutionCreated"),
        ("ExecutionRunning", "ExecutionStarted"),
        ("ExecutionComplete", "ExecutionSucceeded"),
    ):
        assert (found[kind]["status"], found[kind]["reason"]) == ("True", reason)
    run = await stack.run(status["pipelineRunRef"]["name"])
    assert run is not None
    assert {p["name"] for p in run["spec"]["params"]} == {"DELAY_SECONDS", "TARGET_RESOURCE"}

    async def stripped() -> list[dict[str, Any]]:
        return [
            e
            for e in await stack.events("default")
            if e["reason"] == EventReason.PARAMETERS_STRIPPED
        ]

    (event,) = await stack.wait_for(stripped, what="the UndeclaredParametersStripped Event")
    assert "API_TOKEN" in event["message"]

    async def newest_vocabulary() -> set[str] | None:
        mine = [
            e
            for e in await stack.events("default")
            if e["involvedObject"]["name"] == "we-rr-declared"
        ]
        reasons = {e["reason"] for e in mine}
        wanted = {
            EventReason.WORKFLOW_VALIDATED,
            EventReason.EXECUTION_CREATED,
            EventReason.PHASE_TRANSITION,
        }
        return reasons if wanted <= reasons else None

    reasons = await stack.wait_for(newest_vocabulary, what="the August 2026 Events")
    assert EventReason.PIPELINE_RUN_CREATED not in reasons
    assert "never-passed-value" not in event["message"]
    assert "API_TOKEN" in controller.log()
    assert "never-passed-value" not in controller.log()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"executionEngine": "ansible"}, FailureReason.UNSUPPORTED_ENGINE),
    ],
)
async def test_an_engine_this_controller_does_not_run_fails_without_a_run(
    stack: Stack, change: dict[str, str], reason: FailureReason
) -> None:
    await stack.start_controller()
    name = f"we-rr-{change['executionEngine']}"
    await stack.create(catalog_body(name, **change))
    failed = await stack.wait_phase(name, "Failed")
    assert failed["status"]["failureDetails"]["reason"] == reason
    assert failed["status"]["failureReason"] == reason
    assert failed["status"]["failureDetails"]["wasExecutionFailure"] is False
    assert "this controller runs job, tekton" in failed["status"]["failureDetails"]["message"]
    assert await stack.runs() == []

    async def validation_failed() -> list[dict[str, Any]]:
        return [
            e
            for e in await stack.events("default")
            if e["involvedObject"]["name"] == name
            and e["reason"] == EventReason.WORKFLOW_VALIDATION_FAILED
        ]

    (event,) = await stack.wait_for(validation_failed, what="WorkflowValidationFailed")
    assert event["type"] == "Warning"


async def test_a_remote_cluster_is_refused_as_a_configuration_error(stack: Stack) -> None:
    await stack.start_controller()
    body = catalog_body("we-rr-remote")
    body["spec"]["clusterID"] = "spoke-1"
    await stack.create(body)
    failed = await stack.wait_phase("we-rr-remote", "Failed")
    assert failed["status"]["failureReason"] == FailureReason.CONFIGURATION_ERROR
    assert "spec.clusterID" in failed["status"]["failureDetails"]["message"]
    assert await stack.runs() == []


async def test_a_duplicate_names_the_workflowexecution_holding_the_target(
    bare_stack: Stack,
) -> None:
    stack = bare_stack
    await stack.start_controller()
    target = "default/deployment/catalog-shared"
    await stack.create(catalog_body("we-rr-first", target=target))
    await stack.wait_phase("we-rr-first", "Running")
    await stack.create(catalog_body("we-rr-second", target=target))
    failed = await stack.wait_phase("we-rr-second", "Failed")
    assert failed["status"]["failureReason"] == FailureReason.DEDUPLICATED
    assert failed["status"]["deduplicatedBy"] == "we-rr-first"


async def test_a_workflowexecution_that_never_ran_does_not_hold_its_target(
    bare_stack: Stack,
) -> None:
    """Upstream's cooldown counts every terminal WFE on the target, also one that never ran."""
    stack = bare_stack
    await stack.start_controller(cooldown="5m")
    target = "default/deployment/catalog-never-ran"
    await stack.create(catalog_body("we-rr-never-ran", target=target, executionEngine="ansible"))
    await stack.wait_phase("we-rr-never-ran", "Failed")
    await stack.create(catalog_body("we-rr-runs-at-once", target=target))
    running = await stack.wait_phase("we-rr-runs-at-once", "Running")
    assert running["status"]["executionRef"]["name"]
