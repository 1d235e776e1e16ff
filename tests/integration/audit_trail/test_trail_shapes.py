"""Each way a WFE can go leaves exactly its due audit events (audit.md §1), read back through the
query API, every stored event valid under the project's spec and the real DataStorage spec."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from kubernaut_wfe.constants import FailureReason
from kubernaut_wfe.datastorage.events import DELETED_WHILE_RUNNING
from kubernaut_wfe_tools.testing.audit_service import in_process_audit_service
from kubernaut_wfe_tools.testing.postgres import PostgresUnavailableError, throwaway_postgres
from kubernaut_wfe_tools.testing.stack import FAILING, wfe_body
from kubernaut_wfe_tools.testing.testcluster import TestCluster

from .conftest import Stack, make_stack  # noqa: TID252
from .trail import (  # noqa: TID252
    COMPLETED,
    CREATE_REFUSED_TRAIL,
    FAILED,
    PRE_EXECUTION_TRAIL,
    RUN_FAILED_TRAIL,
    SELECTED,
    STARTED,
    SUCCESS_TRAIL,
    SpecJudges,
    assert_event_shapes,
    assert_exactly,
)

pytestmark = pytest.mark.timeout(180)


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def trail_of(stack: Stack, name: str, expected: frozenset[Any]) -> dict[str, Any]:
    """Waits until every due event is acknowledged; asserts the stored trail is exactly
    `expected`, well formed and spec-valid; returns the events by type."""
    wfe = await stack.wait_audited(name)
    events = await stack.trail(f"rr-{name}")
    assert_exactly(events, expected)
    assert sorted(wfe["status"]["auditedEvents"]) == sorted(expected)
    return assert_event_shapes(events, wfe, stack.judges) | {"wfe": wfe}


async def check_successful_trail(stack: Stack) -> None:
    await stack.create(wfe_body("happy"))
    trail = await trail_of(stack, "happy", SUCCESS_TRAIL)
    status = trail["wfe"]["status"]
    selected, started, completed = trail[SELECTED], trail[STARTED], trail[COMPLETED]
    run_name = status["pipelineRunRef"]["name"]
    assert started["event_data"]["pipelinerun_name"] == run_name
    assert moment(selected["event_timestamp"]) == moment(status["startTime"])
    assert moment(started["event_timestamp"]) == moment(status["startTime"])
    assert moment(started["event_data"]["started_at"]) == moment(status["startTime"])
    assert moment(completed["event_timestamp"]) == moment(status["completionTime"])
    assert moment(completed["event_data"]["completed_at"]) == moment(status["completionTime"])
    assert completed["event_data"]["duration"] == status["duration"]
    for event in (selected, started, completed):
        assert "failure_reason" not in event["event_data"]


async def test_successful_wfe(stack: Stack) -> None:
    await stack.start_controller()
    await check_successful_trail(stack)


async def test_failed_run(stack: Stack) -> None:
    await stack.start_controller()
    await stack.create(wfe_body("sad", image=FAILING, parameters={"FAILURE_MODE": "exit"}))
    trail = await trail_of(stack, "sad", RUN_FAILED_TRAIL)
    details = trail["wfe"]["status"]["failureDetails"]
    data = trail[FAILED]["event_data"]
    assert data["failure_reason"] == FailureReason.TASK_FAILED
    assert data["failed_task_name"] == "fail-task"
    assert data["failure_message"] == details["message"]
    assert data["failure_message"]
    assert data["error_details"]["component"] == "workflowexecution"
    assert data["pipelinerun_name"] == trail["wfe"]["status"]["pipelineRunRef"]["name"]
    assert moment(trail[FAILED]["event_timestamp"]) == moment(
        trail["wfe"]["status"]["completionTime"]
    )


async def test_pre_execution_failure_owes_only_workflow_failed(stack: Stack) -> None:
    await stack.start_controller()
    body = wfe_body("intruder")
    body["spec"]["executionConfig"] = {"serviceAccountName": "not-allowed-runner"}
    await stack.create(body)
    trail = await trail_of(stack, "intruder", PRE_EXECUTION_TRAIL)
    data = trail[FAILED]["event_data"]
    assert data["failure_reason"] == FailureReason.CONFIGURATION_ERROR
    assert "not-allowed-runner" in data["failure_message"]
    assert "pipelinerun_name" not in data
    assert stack.run_creations() == 0


async def test_duplicate_is_reported_as_itself_naming_the_holder(stack: Stack) -> None:
    await stack.start_controller()
    target = "default/deployment/shared"
    await stack.create(wfe_body("holder", target=target, parameters={"DELAY_SECONDS": "4"}))
    await stack.wait_phase("holder", "Running")
    await stack.create(wfe_body("latecomer", target=target))
    trail = await trail_of(stack, "latecomer", PRE_EXECUTION_TRAIL)
    assert trail["wfe"]["status"]["failureDetails"]["reason"] == FailureReason.DEDUPLICATED
    data = trail[FAILED]["event_data"]
    assert data["failure_reason"] == FailureReason.DEDUPLICATED
    assert "holder" in data["failure_message"]
    await trail_of(stack, "holder", SUCCESS_TRAIL)


async def test_wfe_deleted_while_running(stack: Stack) -> None:
    await stack.start_controller()
    await stack.create(wfe_body("doomed", parameters={"DELAY_SECONDS": "60"}))
    running = await stack.wait_phase("doomed", "Running")
    await stack.delete("doomed")
    await stack.wait_wfe_gone("doomed")

    async def stored() -> list[dict[str, Any]] | None:
        events = await stack.trail("rr-doomed")
        return events if len(events) >= 3 else None

    events = await stack.wait_for(stored, what="the deletion's audit event")
    assert_exactly(events, RUN_FAILED_TRAIL)
    by_type = assert_event_shapes(events, running, stack.judges)
    failed = by_type[FAILED]
    assert failed["event_data"]["pipelinerun_name"] == running["status"]["pipelineRunRef"]["name"]
    assert moment(failed["event_timestamp"]) >= moment(running["status"]["startTime"])
    assert failed["event_data"]["failure_reason"] == FailureReason.UNKNOWN
    assert failed["event_data"]["failure_message"] == DELETED_WHILE_RUNNING
    assert moment(failed["event_data"]["completed_at"]) == moment(failed["event_timestamp"])


async def test_create_refused_by_the_apiserver(stack: Stack) -> None:
    await stack.start_controller()
    stack.faults.add(
        action="error",
        status=403,
        message='pipelineruns.tekton.dev "x" is forbidden: exceeded quota: runs, requested: 1',
        verb="create",
        resource="pipelineruns",
        count=1000,
    )
    await stack.create(wfe_body("refused"))
    trail = await trail_of(stack, "refused", CREATE_REFUSED_TRAIL)
    data = trail[FAILED]["event_data"]
    assert data["failure_reason"] == FailureReason.RESOURCE_EXHAUSTED
    assert "exceeded quota" in data["failure_message"]
    assert "pipelinerun_name" not in data
    assert "pipelinerun_name" not in trail[SELECTED]["event_data"]
    assert trail[SELECTED]["event_timestamp"] == trail[FAILED]["event_timestamp"]


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A throw-away PostgreSQL database (skipped off CI when PostgreSQL is not installed)."""
    try:
        with throwaway_postgres() as url:
            yield url
    except PostgresUnavailableError as error:
        if os.environ.get("CI"):
            pytest.fail(f"{error} (CI is set)")
        pytest.skip(str(error))


@pytest.fixture
async def postgres_stack(
    tmp_path: Path, judges: SpecJudges, api_cluster: TestCluster | None, postgres_url: str
) -> AsyncIterator[Stack]:
    """The stack with the audit service storing into PostgreSQL."""
    async with (
        in_process_audit_service(postgres_url) as audit_url,
        make_stack(tmp_path, audit_url, judges, api_cluster) as stack,
    ):
        yield stack


async def test_successful_wfe_with_postgresql_storage(postgres_stack: Stack) -> None:
    await postgres_stack.start_controller()
    await check_successful_trail(postgres_stack)
