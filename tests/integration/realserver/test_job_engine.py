"""The Job engine on the real API server: the controller creates a Job, kube-controller-manager's
real Job controller runs it, the node stand-in plays the kubelet
(`kubernaut_wfe_tools.node_simulator`), and each outcome reaches the WFE classified (phase,
reason, exit code, wasExecutionFailure, message), with its audit trail valid against the newest
DataStorage spec and the target's lock released after the cooldown. Each upstream defect of
job-engine.md has a test here that fails on upstream's behaviour (every failure `Unknown` with
wasExecutionFailure true, an OOM retried until the deadline, an image that never pulls waiting
for the deadline)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from kubernaut_wfe.constants import Annotation, AuditEventType, FailureReason, Phase
from kubernaut_wfe.core.naming import pipelinerun_name
from kubernaut_wfe_tools.node_simulator.samples import workflow_job
from kubernaut_wfe_tools.testing.catalog_fixtures import catalog_variant
from kubernaut_wfe_tools.testing.oracles import NEWEST_DATASTORAGE_SPEC
from kubernaut_wfe_tools.testing.stack import EXECUTION_NAMESPACE
from kubernaut_wfe_tools.testing.testcluster import TestCluster

from .conftest import ServerStack, server_stack  # noqa: TID252

pytestmark = pytest.mark.timeout(180)

JOBS = f"/apis/batch/v1/namespaces/{EXECUTION_NAMESPACE}/jobs"
PODS = f"/api/v1/namespaces/{EXECUTION_NAMESPACE}/pods"
QUOTAS = f"/api/v1/namespaces/{EXECUTION_NAMESPACE}/resourcequotas"
BUNDLE = "quay.io/kubernaut/workflows/remediate:v1"
STEP = "workflow"


@pytest.fixture
async def stack(cluster: TestCluster, tmp_path: Path) -> AsyncIterator[ServerStack]:
    async with server_stack(cluster, tmp_path, node=True) as started:
        await started.start_controller()
        yield started


def job_wfe(name: str, parameters: dict[str, str], **spec: Any) -> dict[str, Any]:
    """A catalog snapshot run by the Job engine, on its own target."""
    changes: dict[str, Any] = {
        "workflowRef.executionEngine": "job",
        "workflowRef.executionBundle": BUNDLE,
        "targetResource": f"default/deployment/{name}",
        "parameters": {"DELAY_SECONDS": "1", **parameters},
        **spec,
    }
    return catalog_variant(changes, name=name)


def details(wfe: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = wfe["status"]["failureDetails"]
    return found


async def job_of(stack: ServerStack, wfe: dict[str, Any]) -> dict[str, Any] | None:
    return await stack.read(f"{JOBS}/{wfe['status']['executionRef']['name']}")


async def pods_of(stack: ServerStack, job_name: str) -> list[dict[str, Any]]:
    return await stack.items(f"{PODS}?labelSelector=batch.kubernetes.io/job-name={job_name}")


async def assert_trail(stack: ServerStack, wfe: dict[str, Any], outcome: str) -> None:
    """The WFE's audit events: started then the outcome, each once, each valid against the
    newest DataStorage spec."""
    correlation = wfe["spec"]["remediationRequestRef"]["name"]

    async def trail() -> list[dict[str, Any]] | None:
        events = await stack.audit_events(correlation)
        types = [event["event_type"] for event in events]
        return events if ending in types else None

    ending = f"workflowexecution.workflow.{outcome}"
    events = await stack.wait_for(trail, what=f"{ending} stored")
    types = sorted(event["event_type"] for event in events)
    assert types.count(ending) == 1
    assert types.count(AuditEventType.EXECUTION_STARTED) == 1
    spec = yaml.safe_load(NEWEST_DATASTORAGE_SPEC.read_text(encoding="utf-8"))
    schema = {"$ref": "#/components/schemas/AuditEventRequest", "components": spec["components"]}
    validator = OAS30Validator(schema, format_checker=oas30_format_checker)
    for event in events:
        request = {k: v for k, v in event.items() if k not in ("event_id", "event_date")}
        assert [error.message for error in validator.iter_errors(request)] == []


async def assert_lock_released(stack: ServerStack, job_name: str) -> None:
    await stack.wait_gone(f"{JOBS}/{job_name}", what=f"Job {job_name} deleted after the cooldown")


async def assert_ended(stack: ServerStack, wfe: dict[str, Any], outcome: str) -> None:
    """The trail stored and valid, and the target's lock released after the cooldown."""
    await assert_trail(stack, wfe, outcome)
    await assert_lock_released(stack, wfe["status"]["executionRef"]["name"])


async def run_to_end(stack: ServerStack, body: dict[str, Any], phase: str) -> dict[str, Any]:
    await stack.create(body)
    return await stack.wait_phase(body["metadata"]["name"], phase, within=90)


async def test_a_successful_job_completes_the_wfe_and_releases_the_lock(stack: ServerStack) -> None:
    stack.requests.clear()
    wfe = await run_to_end(stack, job_wfe("job-success", {}), Phase.COMPLETED)
    # Followed by its watches: the Job is read only as the lock before the create (no polling).
    assert len(stack.requests.filter(verb="get", resource="jobs")) == 1
    assert stack.requests.filter(verb="get", resource="pods") == []
    status = wfe["status"]
    assert "pipelineRunRef" not in status  # the August vocabulary alone: no January reader
    assert not [c for c in status["conditions"] if c["type"].startswith("TektonPipeline")]
    assert status["executionStatus"]["status"] == "True"
    assert status["executionStatus"]["completedTasks"] == 1
    assert status["executionStatus"]["retryCount"] == 0
    job = await job_of(stack, wfe)
    assert job is not None
    assert job["spec"]["backoffLimit"] == 0
    await assert_ended(stack, wfe, "completed")


async def test_a_non_zero_exit_is_task_failed_with_the_exit_code_and_the_step(
    stack: ServerStack,
) -> None:
    wfe = await run_to_end(stack, job_wfe("job-exit", {"FAILURE_MODE": "exit"}), Phase.FAILED)
    found = details(wfe)
    assert found["reason"] == FailureReason.TASK_FAILED
    assert found["exitCode"] == 1
    assert found["failedStepName"] == STEP
    assert found["wasExecutionFailure"] is True
    assert STEP in found["message"]
    await assert_ended(stack, wfe, "failed")


async def test_an_oom_kill_fails_at_once_without_a_retry(stack: ServerStack) -> None:
    """Upstream ignores exit 137 in its pod failure policy: the OOM loops until the deadline."""
    wfe = await run_to_end(stack, job_wfe("job-oom", {"FAILURE_MODE": "oom"}), Phase.FAILED)
    found = details(wfe)
    assert found["reason"] == FailureReason.OOM_KILLED
    assert found["exitCode"] == 137
    assert found["wasExecutionFailure"] is True
    assert STEP in found["message"]
    name = wfe["status"]["executionRef"]["name"]
    assert len(await pods_of(stack, name)) == 1
    await assert_ended(stack, wfe, "failed")


async def test_an_image_that_cannot_be_pulled_fails_early_as_image_pull_back_off(
    stack: ServerStack,
) -> None:
    """Upstream waits for the 30-minute deadline and reports `Unknown`, wasExecutionFailure
    true; here the WFE fails as soon as the kubelet backs off, and nothing ran."""
    body = job_wfe("job-imagepull", {"FAILURE_MODE": "imagepull"})
    wfe = await run_to_end(stack, body, Phase.FAILED)
    found = details(wfe)
    assert found["reason"] == FailureReason.IMAGE_PULL_BACK_OFF
    assert found["wasExecutionFailure"] is False
    assert BUNDLE in found["message"]
    job = await job_of(stack, wfe)
    assert job is None or job["spec"].get("suspend") is True
    await assert_ended(stack, wfe, "failed")


async def test_a_missing_secret_fails_early_as_a_configuration_error(stack: ServerStack) -> None:
    body = job_wfe(
        "job-nosecret",
        {},
        **{"workflowRef.dependencies": {"secrets": [{"name": "absent-credentials"}]}},
    )
    wfe = await run_to_end(stack, body, Phase.FAILED)
    found = details(wfe)
    assert found["reason"] == FailureReason.CONFIGURATION_ERROR
    assert found["wasExecutionFailure"] is False
    assert "absent-credentials" in found["message"]
    await assert_ended(stack, wfe, "failed")


async def test_a_container_that_cannot_be_configured_is_a_configuration_error(
    stack: ServerStack,
) -> None:
    wfe = await run_to_end(stack, job_wfe("job-config", {"FAILURE_MODE": "config"}), Phase.FAILED)
    found = details(wfe)
    assert found["reason"] == FailureReason.CONFIGURATION_ERROR
    assert found["wasExecutionFailure"] is False
    assert "runAsNonRoot" in found["message"]
    await assert_ended(stack, wfe, "failed")


async def test_the_deadline_is_deadline_exceeded(stack: ServerStack) -> None:
    deadline = (datetime.now(UTC) + timedelta(seconds=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = job_wfe("job-deadline", {"FAILURE_MODE": "timeout"}, timesOutAt=deadline)
    wfe = await run_to_end(stack, body, Phase.FAILED)
    found = details(wfe)
    assert found["reason"] == FailureReason.DEADLINE_EXCEEDED
    assert found["wasExecutionFailure"] is True
    assert "deadline" in found["message"]
    await assert_ended(stack, wfe, "failed")


async def test_a_pod_the_quota_refuses_is_resource_exhausted(stack: ServerStack) -> None:
    quota = {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "no-sized-pods"},
        "spec": {"hard": {"pods": "0"}, "scopes": ["NotBestEffort"]},
    }
    created = await stack.client.post(QUOTAS, json=quota)
    assert created.status_code == 201, created.text
    try:
        resources = {"requests": {"cpu": "10m", "memory": "16Mi"}}
        body = job_wfe("job-quota", {}, **{"workflowRef.resources": resources})
        wfe = await run_to_end(stack, body, Phase.FAILED)
    finally:
        await stack.client.delete(f"{QUOTAS}/no-sized-pods")
    found = details(wfe)
    assert found["reason"] == FailureReason.RESOURCE_EXHAUSTED
    assert found["wasExecutionFailure"] is False
    assert "exceeded quota" in found["message"]
    await assert_ended(stack, wfe, "failed")


async def test_a_disruption_is_retried_and_counted(stack: ServerStack) -> None:
    body = job_wfe("job-disruption", {"FAILURE_MODE": "disruption"})
    wfe = await run_to_end(stack, body, Phase.COMPLETED)
    assert wfe["status"]["executionStatus"]["retryCount"] == 1
    correlation = wfe["spec"]["remediationRequestRef"]["name"]
    await assert_ended(stack, wfe, "completed")
    (completed,) = [
        event
        for event in await stack.audit_events(correlation)
        if event["event_type"] == AuditEventType.WORKFLOW_COMPLETED
    ]
    assert completed["event_data"]["retry_count"] == 1


async def test_one_lock_per_target_across_engines(stack: ServerStack) -> None:
    """A Job holds the target against a Tekton WFE on the same target: Deduplicated."""
    job = job_wfe("job-holder", {"DELAY_SECONDS": "20"})
    await stack.create(job)
    await stack.wait_phase("job-holder", Phase.RUNNING)
    tekton = catalog_variant(
        {"targetResource": "default/deployment/job-holder"}, name="tekton-second"
    )
    await stack.create(tekton)
    second = await stack.wait_phase("tekton-second", Phase.FAILED)
    assert details(second)["reason"] == FailureReason.DEDUPLICATED
    assert second["status"]["deduplicatedBy"] == "job-holder"


async def test_a_job_deleted_by_someone_else_fails_the_wfe(stack: ServerStack) -> None:
    body = job_wfe("job-external", {"DELAY_SECONDS": "30"})
    await stack.create(body)
    running = await stack.wait_phase("job-external", Phase.RUNNING)
    name = running["status"]["executionRef"]["name"]
    deleted = await stack.client.delete(
        f"{JOBS}/{name}", params={"propagationPolicy": "Background"}
    )
    assert deleted.status_code == 200, deleted.text
    wfe = await stack.wait_phase("job-external", Phase.FAILED)
    assert details(wfe)["message"] == "Job was deleted externally"
    assert details(wfe)["reason"] == FailureReason.UNKNOWN
    await assert_ended(stack, wfe, "failed")


async def test_deleting_a_running_wfe_deletes_its_job_and_the_job_its_pods(
    stack: ServerStack,
) -> None:
    await stack.create(job_wfe("job-deleted", {"DELAY_SECONDS": "30"}))
    running = await stack.wait_phase("job-deleted", Phase.RUNNING)
    name = running["status"]["executionRef"]["name"]

    async def pod_running() -> bool:
        pods = await pods_of(stack, name)
        return any((p.get("status") or {}).get("phase") == "Running" for p in pods)

    await stack.wait_for(pod_running, what="the Job's pod running")
    await stack.delete("job-deleted")
    await stack.wait_wfe_gone("job-deleted")
    await stack.wait_gone(f"{JOBS}/{name}", what="the Job deleted with its WFE")

    async def no_pods() -> bool:
        return not await pods_of(stack, name)

    await stack.wait_for(no_pods, what="the Job's pods deleted by the garbage collector")
    await assert_trail(stack, running, "failed")


async def test_a_finished_job_of_a_deleted_wfe_is_a_stale_lock_and_is_replaced(
    stack: ServerStack,
) -> None:
    """Upstream cannot delete a finished Job whose owner is gone (its clean-up never matches
    the owner) and re-creates every 500 ms until the Job's TTL removes it; here the stale lock
    is deleted once and the new WFE runs."""
    target = "default/deployment/stale-lock"
    name = pipelinerun_name(target)
    stale = workflow_job(
        name, namespace=EXECUTION_NAMESPACE, wfe="gone", env={"DELAY_SECONDS": "0"}
    )
    stale["metadata"]["annotations"] = {
        Annotation.WORKFLOW_EXECUTION.value: "default/gone",
        Annotation.WORKFLOW_EXECUTION_UID.value: "uid-of-a-deleted-wfe",
        Annotation.TARGET_RESOURCE.value: target,
    }
    created = await stack.client.post(JOBS, json=stale)
    assert created.status_code == 201, created.text

    async def finished() -> bool:
        job = await stack.read(f"{JOBS}/{name}") or {}
        conditions = (job.get("status") or {}).get("conditions") or []
        return any(c["type"] == "Complete" and c["status"] == "True" for c in conditions)

    await stack.wait_for(finished, what="the stale Job to finish")
    stack.requests.clear()
    wfe = await run_to_end(stack, job_wfe("job-second", {}, targetResource=target), Phase.COMPLETED)
    assert wfe["status"]["executionRef"]["name"] == name
    deletes = stack.requests.filter(verb="delete", resource="jobs")
    creates = stack.requests.filter(verb="create", resource="jobs")
    assert len(deletes) >= 1
    assert len(creates) <= 2, "the lock was re-created in a loop"


async def test_a_second_wfe_on_the_target_waits_for_the_cooldown_then_runs(
    stack: ServerStack,
) -> None:
    first = await run_to_end(stack, job_wfe("job-before", {}), Phase.COMPLETED)
    second = job_wfe("job-after", {}, targetResource="default/deployment/job-before")
    await stack.create(second)
    done = await stack.wait_phase("job-after", Phase.COMPLETED)
    assert done["status"]["executionRef"]["name"] == first["status"]["executionRef"]["name"]
    ended = datetime.fromisoformat(first["status"]["completionTime"].replace("Z", "+00:00"))
    started = datetime.fromisoformat(done["status"]["startTime"].replace("Z", "+00:00"))
    assert started >= ended + timedelta(seconds=2), "the cooldown (2s here) was not waited for"
