"""Hostile and odd input meets the controller on the real API server: it never touches a run it
did not create, and input that cannot run ends the WFE with a clear reason instead of a stall."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from kubernaut_wfe_tools.testing.stack import EXECUTION_NAMESPACE, wfe_body

from .conftest import RUNS_API, ServerStack  # noqa: TID252

pytestmark = pytest.mark.timeout(120)


def lock_name(target: str) -> str:
    """The contract's lock: `wfe-` + the first 16 hex digits of SHA-256 of the target."""
    return "wfe-" + hashlib.sha256(target.encode()).hexdigest()[:16]


async def events_about(
    stack: ServerStack, name: str, namespace: str = "default"
) -> list[dict[str, Any]]:
    answer = await stack.client.get(
        f"/api/v1/namespaces/{namespace}/events",
        params={"fieldSelector": f"involvedObject.name={name}"},
    )
    answer.raise_for_status()
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def test_a_run_no_wfe_created_is_left_alone_and_the_wfe_says_what_to_do(
    stack: ServerStack,
) -> None:
    target = "default/deployment/someone-elses"
    foreign = {
        "apiVersion": "tekton.dev/v1",
        "kind": "PipelineRun",
        "metadata": {
            "name": lock_name(target),
            "namespace": EXECUTION_NAMESPACE,
            "labels": {"team": "other"},
        },
        "spec": {"pipelineRef": {"name": "their-pipeline"}},
    }
    answer = await stack.client.post(RUNS_API, json=foreign)
    assert answer.status_code == 201, answer.text
    uid = answer.json()["metadata"]["uid"]
    await stack.start_controller()

    await stack.create(wfe_body("not-my-run", target=target))
    failed = await stack.wait_phase("not-my-run", "Failed")

    details = failed["status"]["failureDetails"]
    assert details["reason"] == "Unknown"
    assert f"{EXECUTION_NAMESPACE}/{lock_name(target)}" in details["message"]
    assert details["wasExecutionFailure"] is False
    still = await stack.client.get(f"{RUNS_API}/{lock_name(target)}")
    assert still.status_code == 200
    assert still.json()["metadata"]["uid"] == uid
    assert "deletionTimestamp" not in still.json()["metadata"]
    assert still.json()["metadata"].get("annotations") is None

    async def warned() -> list[dict[str, Any]]:
        return [e for e in await events_about(stack, "not-my-run") if e["type"] == "Warning"]

    (event,) = await stack.wait_for(warned, what="a Warning Event on the WFE")
    assert "delete it, then create this WorkflowExecution again" in event["message"]
    # The cluster is shared by the session: leave no foreign run behind.
    (await stack.client.delete(f"{RUNS_API}/{lock_name(target)}")).raise_for_status()


async def test_a_run_taken_out_of_the_watch_selection_is_still_followed(stack: ServerStack) -> None:
    """Removing the run's labels takes it out of the controller's label-selected watch: the
    controller reads it by name, puts its labels back and sees it finish as usual."""
    await stack.start_controller()
    await stack.create(wfe_body("unlabelled", delay_seconds=6))
    running = await stack.wait_phase("unlabelled", "Running")
    name = running["status"]["pipelineRunRef"]["name"]
    labels = (await stack.client.get(f"{RUNS_API}/{name}")).json()["metadata"]["labels"]
    ours = {key: value for key, value in labels.items() if key.startswith("kubernaut.ai/")}
    assert len(ours) == 4
    answer = await stack.client.patch(
        f"{RUNS_API}/{name}",
        json={"metadata": {"labels": dict.fromkeys(ours)}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert answer.status_code == 200, answer.text

    async def relabelled() -> bool:
        metadata = (await stack.client.get(f"{RUNS_API}/{name}")).json()["metadata"]
        current = metadata.get("labels") or {}  # none at all until the controller puts them
        return all(current.get(key) == value for key, value in ours.items())

    await stack.wait_for(relabelled, what="the run's labels put back", within=15)
    completed = await stack.wait_phase("unlabelled", "Completed")
    assert completed["status"]["pipelineRunRef"]["name"] == name


async def test_a_run_cancelled_by_someone_else_fails_the_wfe_with_the_runs_outcome(
    stack: ServerStack,
) -> None:
    await stack.start_controller()
    await stack.create(wfe_body("cancelled-by-hand", delay_seconds=600))
    running = await stack.wait_phase("cancelled-by-hand", "Running")
    name = running["status"]["pipelineRunRef"]["name"]
    answer = await stack.client.patch(
        f"{RUNS_API}/{name}",
        json={"spec": {"status": "Cancelled"}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert answer.status_code == 200, answer.text
    failed = await stack.wait_phase("cancelled-by-hand", "Failed")
    details = failed["status"]["failureDetails"]
    assert f'PipelineRun "{name}" was cancelled' in details["message"], details
    assert details["reason"] == "Unknown", details
    assert details["wasExecutionFailure"] is True
