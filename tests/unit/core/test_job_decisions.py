"""The reconcile decision for a WFE run by the Job engine (`core.decisions` through
`core.job_running`): one lock for both kinds of run, the Job created and followed through its
pods and Warning Events, each end classified, an early cause ending the WFE, then stopping the
Job."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubernaut_wfe.constants import FailureReason, Phase, RunKind
from kubernaut_wfe.core.actions import (
    CancelRun,
    CreateRun,
    Decision,
    ReadJobPods,
    ReadLock,
    ReadRun,
    RecordExecution,
)
from kubernaut_wfe.core.config import load_config
from kubernaut_wfe.core.decisions import decide
from kubernaut_wfe.core.models import WorkflowExecutionStatus
from kubernaut_wfe.core.observation import Created, Observation

from .conftest import NOW, WFE_UID, make_wfe_raw  # noqa: TID252
from .test_jobstatus import (  # noqa: TID252
    BACKED_OFF,
    JOB,
    NS,
    PULL_EVENTS,
    SUCCEEDED,
    WAITING_PULL,
    job,
    pod,
    ran,
)

CONFIG = load_config(None)
SPEC: dict[str, Any] = {
    "remediationRequestRef": {"name": "rr-1", "kind": "RemediationRequest"},
    "workflowRef": {
        "workflowId": "restart",
        "version": "1.0.0",
        "containerImage": "quay.io/acme/restart-workflow:v1",
        "executionEngine": "job",
    },
    "targetResource": "default/deployment/nginx",
    "parameters": {"REPLICAS": "3"},
}
RUNNING = {
    "phase": "Running",
    "startTime": "2025-06-01T10:00:00Z",
    "pipelineRunRef": {"name": JOB},
    "executionRef": {"name": JOB},
}


def ours(document: dict[str, Any]) -> dict[str, Any]:
    """A Job of the test module's shape, owned by `make_wfe_raw()`'s WFE."""
    owned = copy.deepcopy(document)
    owned["metadata"]["annotations"] = {
        "kubernaut.ai/workflow-execution": "default/restart-nginx",
        "kubernaut.ai/workflow-execution-uid": WFE_UID,
        "kubernaut.ai/target-resource": "default/deployment/nginx",
    }
    owned["metadata"]["resourceVersion"] = "12"
    owned["metadata"]["labels"] = {
        **owned["metadata"]["labels"],
        "kubernaut.ai/source-namespace": "default",
        "kubernaut.ai/workflow-id": "restart",
        "kubernaut.ai/target-resource": "default__deployment__nginx",
    }
    return owned


def running_wfe(**status: Any) -> dict[str, Any]:
    return make_wfe_raw(spec=SPEC, status={**RUNNING, **status})


def decide_once(raw: dict[str, Any], obs: Observation) -> Decision:
    decision = decide(raw, obs, CONFIG, NOW)
    if decision.actions and isinstance(record := decision.actions[0], RecordExecution):
        meta = raw["metadata"]
        raw = {**raw, "metadata": {**meta, "annotations": {**record.annotations}}}
        decision = decide(raw, obs, CONFIG, NOW)
    return decision


def status_of(decision: Decision) -> WorkflowExecutionStatus:
    assert decision.status is not None
    return decision.status


def test_a_pending_job_wfe_reads_its_lock_as_both_kinds_then_creates_a_job() -> None:
    raw = make_wfe_raw(spec=SPEC)
    (read,) = decide(raw, Observation(), CONFIG, NOW).actions
    assert read == ReadLock(NS, JOB, RunKind.JOB)
    (create,) = decide(raw, Observation(run=None), CONFIG, NOW).actions
    assert isinstance(create, CreateRun)
    assert create.body["kind"] == "Job"
    assert create.body["metadata"]["name"] == JOB


def test_the_created_job_makes_the_wfe_running() -> None:
    created = ours(job(active=1))
    decision = decide_once(make_wfe_raw(spec=SPEC), Observation(create=Created(created)))
    status = status_of(decision)
    assert status.phase == Phase.RUNNING
    assert status.execution_ref is not None
    assert status.execution_ref.name == JOB
    assert status.execution_status is not None
    assert status.execution_status.retry_count == 0
    assert any("Job" in event.message for event in decision.events)


def test_a_running_job_read_from_the_api_has_its_pods_listed_first() -> None:
    decision = decide_once(running_wfe(), Observation(run=ours(job(active=1))))
    assert decision.actions == (ReadJobPods(NS, JOB),)


def test_a_running_job_wfe_reads_its_own_kind() -> None:
    assert decide(running_wfe(), Observation(), CONFIG, NOW).actions == (
        ReadRun(NS, JOB, RunKind.JOB),
    )


def test_a_complete_job_completes_the_wfe() -> None:
    done = ours(job(succeeded=1, conditions=SUCCEEDED, completionTime="2025-06-01T10:01:05Z"))
    pods = [pod("a1b2c", "Succeeded", ran(0, "Completed"))]
    decision = decide_once(running_wfe(), Observation(run=done, pods=pods, run_events=[]))
    status = status_of(decision)
    assert status.phase == Phase.COMPLETED
    assert status.execution_status is not None
    assert status.execution_status.completed_tasks == 1
    assert decision.events[0].message.startswith(f"Job {NS}/{JOB} succeeded")


def test_a_non_zero_exit_fails_the_wfe_as_task_failed() -> None:
    failed = ours(job(failed=1, conditions=BACKED_OFF))
    pods = [pod("a1b2c", "Failed", ran(1, "Error"))]
    decision = decide_once(running_wfe(), Observation(run=failed, pods=pods, run_events=[]))
    details = status_of(decision).failure_details
    assert details is not None
    assert details.reason == FailureReason.TASK_FAILED
    assert details.exit_code == 1
    assert details.failed_step_name == "workflow"
    assert details.was_execution_failure is True


@pytest.mark.parametrize("suspended", [False, True])
def test_an_image_that_cannot_be_pulled_fails_the_wfe_then_suspends_the_job(
    suspended: bool,
) -> None:
    """The end is written first, while the pod still shows its cause (suspending the Job deletes
    it): a controller stopped between the two never leaves a Running WFE over a suspended Job
    that says nothing (found by `make chaos`)."""
    active = ours(job(active=1))
    if suspended:
        active["spec"]["suspend"] = True
    pods = [pod("7xk2p", "Pending", WAITING_PULL)]
    obs = Observation(run=active, pods=pods, run_events=PULL_EVENTS)
    decision = decide_once(running_wfe(), obs)
    assert not decision.actions
    status = status_of(decision)
    details = status.failure_details
    assert details is not None
    assert details.reason == FailureReason.IMAGE_PULL_BACK_OFF
    assert details.was_execution_failure is False
    failed = running_wfe()
    failed["status"] = status.model_dump(mode="json", by_alias=True, exclude_none=True)
    after = decide(failed, Observation(run=active, pods=pods, run_events=PULL_EVENTS), CONFIG, NOW)
    if suspended:
        assert not any(isinstance(action, CancelRun) for action in after.actions)
    else:
        assert after.actions == (CancelRun(NS, JOB, RunKind.JOB),)


def test_a_job_deleted_by_someone_else_fails_the_wfe_naming_the_job() -> None:
    decision = decide(running_wfe(), Observation(run=None), CONFIG, NOW)
    details = status_of(decision).failure_details
    assert details is not None
    assert details.message == "Job was deleted externally"


def test_a_tekton_wfe_is_deduplicated_by_a_job_holding_its_target() -> None:
    holder = ours(job(active=1))
    holder["metadata"]["annotations"]["kubernaut.ai/workflow-execution"] = "default/other"
    holder["metadata"]["annotations"]["kubernaut.ai/workflow-execution-uid"] = "other-uid"
    other = make_wfe_raw(name="other", uid="other-uid", spec=SPEC, status=RUNNING)
    tekton = make_wfe_raw()
    decision = decide(tekton, Observation(run=holder, holder=other), CONFIG, NOW)
    details = status_of(decision).failure_details
    assert details is not None
    assert details.reason == FailureReason.DEDUPLICATED
    assert f"Job {NS}/{JOB}" in details.message
