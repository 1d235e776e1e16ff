from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kubernaut_wfe.constants import (
    AuditEventType,
    ConditionStatus,
    EventReason,
    EventType,
    FailureReason,
    Phase,
)
from kubernaut_wfe.core.actions import (
    AddFinalizer,
    AwaitAudit,
    CreateRun,
    Decision,
    DeleteRun,
    ReadHolder,
    ReadLock,
    ReadRun,
    ReadTaskRuns,
    RecordExecution,
    RemoveFinalizer,
    Requeue,
    RestoreRunMetadata,
    backoff,
)
from kubernaut_wfe.core.audit import DueAuditEvent, undelivered_audit_events
from kubernaut_wfe.core.config import ControllerConfig, load_config
from kubernaut_wfe.core.decisions import decide, status_write_rejected
from kubernaut_wfe.core.models import WorkflowExecutionStatus
from kubernaut_wfe.core.observation import (
    AlreadyExists,
    ApiFailure,
    AuditWait,
    Created,
    CreateRejected,
    DeleteOutcome,
    Observation,
)
from kubernaut_wfe.core.pending import waiters_ahead
from kubernaut_wfe.core.pipelinerun import build_pipelinerun
from kubernaut_wfe.core.platform_status import ENGINE_NEUTRAL_CONDITIONS
from kubernaut_wfe.core.validation import parse_wfe

Factory = Callable[..., dict[str, Any]]
NOW = datetime(2025, 6, 1, 10, 2, tzinfo=UTC)
PR = "wfe-f3457dcc8fbcb6d9"
NS = "kubernaut-workflows"
SEL, STA, COM, FAI = (
    AuditEventType.SELECTION_COMPLETED,
    AuditEventType.EXECUTION_STARTED,
    AuditEventType.WORKFLOW_COMPLETED,
    AuditEventType.WORKFLOW_FAILED,
)
CONFIG = load_config(None)
RUNNING_STATUS = {
    "phase": "Running",
    "startTime": "2025-06-01T10:00:00Z",
    "pipelineRunRef": {"name": PR},
    "pipelineRunStatus": {
        "status": "Unknown",
        "reason": "Running",
        "completedTasks": 1,
        "totalTasks": 2,
    },
}


def _decide(
    raw: Mapping[str, Any],
    obs: Observation | None = None,
    config: ControllerConfig = CONFIG,
    now: datetime = NOW,
) -> Decision:
    decision = decide(raw, obs or Observation(), config, now)
    if decision.actions and isinstance(record := decision.actions[0], RecordExecution):
        # As the reconciler does: write the execution record, then decide again.
        meta = raw["metadata"]
        annotations = {**meta.get("annotations", {}), **record.annotations}
        raw = {**raw, "metadata": {**meta, "annotations": annotations}}
        decision = decide(raw, obs or Observation(), config, now)
    _assert_consistent(raw, decision)
    return decision


def _assert_consistent(raw: Mapping[str, Any], decision: Decision) -> None:
    """Every written status: Ready matches the phase, observedGeneration is set."""
    status = decision.status
    if status is None:
        return
    ready = status.condition("Ready")
    assert ready is not None
    expected = {
        Phase.COMPLETED: ConditionStatus.TRUE,
        Phase.FAILED: ConditionStatus.FALSE,
    }.get(status.phase or Phase.PENDING, ConditionStatus.UNKNOWN)
    assert ready.status == expected
    assert status.observed_generation == raw["metadata"]["generation"]
    assert all(c.observed_generation == status.observed_generation for c in status.conditions)
    if status.phase == Phase.FAILED:
        assert status.failure_details is not None
        assert ready.reason == status.failure_details.reason
        assert status.completion_time is not None
        assert status.failure_reason == status.failure_details.reason
    assert_both_vocabularies(status)


def assert_both_vocabularies(status: WorkflowExecutionStatus) -> None:
    """The August 2026 names say what the January ones say (platform contract §2)."""
    assert status.execution_ref == status.pipeline_run_ref
    summary, mirrored = status.pipeline_run_status, status.execution_status
    assert (summary is None) == (mirrored is None)
    if summary is not None and mirrored is not None:
        assert (mirrored.status, mirrored.reason, mirrored.message) == (
            summary.status,
            summary.reason,
            summary.message,
        )
        assert (mirrored.completed_tasks, mirrored.total_tasks) == (
            summary.completed_tasks,
            summary.total_tasks,
        )
    for tekton_type, neutral_type in ENGINE_NEUTRAL_CONDITIONS.items():
        tekton_condition, neutral = status.condition(tekton_type), status.condition(neutral_type)
        assert (tekton_condition is None) == (neutral is None), neutral_type
        if tekton_condition is not None and neutral is not None:
            assert neutral.status == tekton_condition.status
            assert neutral.message == tekton_condition.message
            assert neutral.last_transition_time == tekton_condition.last_transition_time
            assert not neutral.reason.startswith("Pipeline"), neutral.reason


def _owed(raw: Mapping[str, Any], decision: Decision) -> list[DueAuditEvent]:
    """The audit events the controller hands to delivery once the decision's status is written."""
    wfe = parse_wfe(raw)
    if decision.status is not None:
        wfe = wfe.model_copy(update={"status": decision.status})
    return undelivered_audit_events(wfe)


def _owed_types(raw: Mapping[str, Any], decision: Decision) -> list[AuditEventType]:
    return [event.event_type for event in _owed(raw, decision)]


def _status(decision: Decision) -> WorkflowExecutionStatus:
    assert decision.status is not None
    return decision.status


def _cond(decision: Decision, kind: str) -> tuple[str, str]:
    condition = _status(decision).condition(kind)
    assert condition is not None, kind
    return condition.status.value, condition.reason


def _message(decision: Decision, kind: str) -> str:
    condition = _status(decision).condition(kind)
    assert condition is not None, kind
    return condition.message


def _foreign_run(**meta: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "name": PR,
            "namespace": NS,
            "uid": "run-uid-9",
            "resourceVersion": "99",
            "creationTimestamp": "2025-06-01T09:00:00Z",
            "annotations": {
                "kubernaut.ai/workflow-execution": "default/holder",
                "kubernaut.ai/workflow-execution-uid": "holder-uid",
            },
            **meta,
        },
        "status": {},
    }


def _holder(
    make_wfe: Factory, phase: str | None, completed: str | None = None, uid: str = "holder-uid"
) -> dict[str, Any]:
    status: dict[str, Any] = {}
    if completed:
        status["completionTime"] = completed
    return make_wfe(name="holder", uid=uid, phase=phase, status=status)


# --- finalizer and validation ----------------------------------------------------------------


def test_finalizer_added_first(make_wfe: Factory) -> None:
    decision = _decide(make_wfe(finalizers=[]))
    assert decision.actions == (AddFinalizer(),)
    assert decision.status is None


@pytest.mark.parametrize(
    ("path", "value", "fragment"),
    [
        ("targetResource", "nginx", "spec.targetResource"),
        (
            "executionConfig",
            {"serviceAccountName": "cluster-admin"},
            "spec.executionConfig.serviceAccountName",
        ),
        ("parameters", {"TARGET_RESOURCE": "x"}, "reserved"),
    ],
)
def test_invalid_spec_fails_with_configuration_error(
    make_wfe: Factory, path: str, value: Any, fragment: str
) -> None:
    raw = make_wfe()
    raw["spec"][path] = value
    decision = _decide(raw)
    status = _status(decision)
    assert status.phase == Phase.FAILED
    assert status.failure_details is not None
    assert status.failure_details.reason == FailureReason.CONFIGURATION_ERROR
    assert status.failure_details.was_execution_failure is False
    assert fragment in status.failure_details.message
    assert status.condition("TektonPipelineCreated") is None
    assert _owed_types(raw, decision) == [FAI]
    assert decision.events[0].reason == EventReason.WORKFLOW_FAILED
    assert decision.events[0].type == EventType.WARNING
    assert decision.actions == ()


# --- Pending: get-before-create --------------------------------------------------------------


def test_pending_reads_the_lock_first(make_wfe: Factory) -> None:
    assert _decide(make_wfe()).actions == (ReadLock(NS, PR),)


def test_run_absent_creates(make_wfe: Factory) -> None:
    raw = make_wfe()
    decision = _decide(raw, Observation(run=None))
    assert decision.actions == (CreateRun(build_pipelinerun(parse_wfe(raw), CONFIG, now=NOW)),)
    assert decision.status is None


def test_run_absent_but_older_waiter_goes_first(make_wfe: Factory) -> None:
    decision = _decide(make_wfe(), Observation(run=None, waiting_ahead=("default/older",)))
    assert decision.actions == (
        Requeue(CONFIG.execution.deleting_run_backoff, "older waiter goes first"),
    )


def test_created_goes_running(make_wfe: Factory, running_run: dict[str, Any]) -> None:
    raw = make_wfe()
    decision = _decide(raw, Observation(create=Created(running_run)))
    status = _status(decision)
    assert status.phase == Phase.RUNNING
    assert status.start_time == datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
    assert status.pipeline_run_ref is not None
    assert status.pipeline_run_ref.name == PR
    assert _cond(decision, "TektonPipelineCreated") == ("True", "PipelineCreated")
    assert _message(decision, "TektonPipelineCreated") == f"Created PipelineRun {PR}"
    assert _cond(decision, "ResourceLocked") == ("False", "LockAcquired")
    assert _cond(decision, "Ready") == ("Unknown", "Running")
    assert _cond(decision, "AuditRecorded") == ("False", "AuditPending")
    assert decision.events[0].reason == EventReason.PIPELINE_RUN_CREATED
    assert decision.events[0].type == EventType.NORMAL
    assert decision.events[0].message == f"Created PipelineRun {NS}/{PR}"
    assert _owed_types(raw, decision) == [SEL, STA]


def test_running_write_already_mirrors_the_fresh_run(
    make_wfe: Factory, running_run: dict[str, Any]
) -> None:
    """The run as the POST returned it (no status yet): the Running write mirrors it, so the
    run's first watch event leaves nothing to write."""
    fresh = {key: value for key, value in running_run.items() if key != "status"}
    decision = _decide(make_wfe(), Observation(create=Created(fresh)))
    assert _cond(decision, "TektonPipelineRunning") == ("True", "PipelineStarted")
    running = make_wfe(status=_status(decision).to_api())
    assert _decide(running, Observation(run=fresh, taskruns=[])).status is None


def test_adopted_finished_run_is_not_called_started(
    make_wfe: Factory, succeeded_run: dict[str, Any]
) -> None:
    decision = _decide(make_wfe(), Observation(run=succeeded_run))
    assert _status(decision).phase == Phase.RUNNING
    assert _status(decision).condition("TektonPipelineRunning") is None
    assert _message(decision, "Ready") == "Tasks Completed: 2 (Failed: 0, Cancelled 0), Skipped: 0"


def test_ready_message_names_the_run_until_tekton_writes_one(make_wfe: Factory) -> None:
    fresh = {"metadata": {"name": PR, "namespace": NS}}
    decision = _decide(make_wfe(), Observation(create=Created(fresh)))
    ready = next(c for c in _status(decision).conditions if c.type == "Ready")
    assert ready.message == f"PipelineRun {PR} is running"


def test_created_run_without_timestamp_starts_now(make_wfe: Factory) -> None:
    run = {"metadata": {"name": PR, "namespace": NS}}
    assert _status(_decide(make_wfe(), Observation(create=Created(run)))).start_time == NOW


def test_conflict_on_create_rereads(make_wfe: Factory) -> None:
    assert _decide(make_wfe(), Observation(create=AlreadyExists())).actions == (ReadLock(NS, PR),)


@pytest.mark.parametrize(
    ("code", "message", "reason", "condition_reason"),
    [
        (
            403,
            'pipelineruns "x" is forbidden: exceeded quota: runs',
            FailureReason.RESOURCE_EXHAUSTED,
            "QuotaExceeded",
        ),
        (
            403,
            "pipelineruns is forbidden: User cannot create",
            FailureReason.FORBIDDEN,
            "RBACDenied",
        ),
        (
            400,
            "admission webhook denied",
            FailureReason.CONFIGURATION_ERROR,
            "PipelineCreationFailed",
        ),
        (
            422,
            "PipelineRun.tekton.dev is invalid",
            FailureReason.CONFIGURATION_ERROR,
            "PipelineCreationFailed",
        ),
        (404, "namespace not found", FailureReason.UNKNOWN, "PipelineCreationFailed"),
        (500, "etcd down", FailureReason.UNKNOWN, "PipelineCreationFailed"),
    ],
)
def test_create_refused_maps_to_enum_reasons(
    make_wfe: Factory, code: int, message: str, reason: FailureReason, condition_reason: str
) -> None:
    rejected = CreateRejected(
        ApiFailure(code, message), attempt=CONFIG.execution.max_create_attempts
    )
    raw = make_wfe()
    decision = _decide(raw, Observation(create=rejected))
    status = _status(decision)
    assert status.phase == Phase.FAILED
    assert status.failure_details is not None
    assert status.failure_details.reason == reason
    assert status.failure_details.was_execution_failure is False
    assert message in status.failure_details.message
    assert _cond(decision, "TektonPipelineCreated") == ("False", condition_reason)
    assert _owed_types(raw, decision) == [SEL, FAI]
    assert decision.outcome is not None
    assert decision.outcome.phase == Phase.FAILED


@pytest.mark.parametrize(("code", "attempt"), [(500, 1), (503, 2), (429, 1), (0, 2)])
def test_transient_create_failures_retry_with_backoff(
    make_wfe: Factory, code: int, attempt: int
) -> None:
    decision = _decide(make_wfe(), Observation(create=CreateRejected(ApiFailure(code), attempt)))
    assert decision.status is None
    assert decision.actions == (Requeue(backoff(attempt), "retry PipelineRun creation"),)


def test_backoff_grows_and_is_capped() -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert backoff(50) == timedelta(minutes=5)


def test_attempt_limit_is_configurable(make_wfe: Factory) -> None:
    config = load_config(None, {"execution.max_create_attempts": 5})
    rejected = Observation(create=CreateRejected(ApiFailure(500), attempt=4))
    assert isinstance(_decide(make_wfe(), rejected, config).actions[0], Requeue)


def test_get_error_backs_off(make_wfe: Factory) -> None:
    decision = _decide(make_wfe(), Observation(run_error=ApiFailure(503)))
    assert [a.after for a in decision.actions if isinstance(a, Requeue)] == [backoff(1)]
    assert decision.status is None


def test_a_runner_account_the_configuration_allows_is_accepted(make_wfe: Factory) -> None:
    raw = make_wfe()
    raw["spec"]["executionConfig"] = {"serviceAccountName": "deployer"}
    allowing = load_config(None, {"execution.allowed_service_accounts": ["deployer"]})
    decision = _decide(raw, Observation(run=None), config=allowing)
    assert [type(action) for action in decision.actions] == [CreateRun]
    refused = _decide(raw, Observation(run=None))
    assert _status(refused).phase == Phase.FAILED


def test_run_being_deleted_never_adopted(make_wfe: Factory, running_run: dict[str, Any]) -> None:
    running_run["metadata"]["deletionTimestamp"] = "2025-06-01T10:01:00Z"
    decision = _decide(make_wfe(), Observation(run=running_run))
    assert decision.status is None
    assert decision.actions == (
        Requeue(CONFIG.execution.deleting_run_backoff, "old run being deleted"),
    )


def test_our_run_is_adopted(make_wfe: Factory, running_run: dict[str, Any]) -> None:
    decision = _decide(make_wfe(), Observation(run=running_run))
    status = _status(decision)
    assert status.phase == Phase.RUNNING
    assert status.start_time == datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
    assert status.pipeline_run_status is not None
    assert status.pipeline_run_status.completed_tasks == 1
    assert "Adopted" in decision.events[0].message
    assert _message(decision, "TektonPipelineCreated") == f"Adopted PipelineRun {PR}"


def test_predecessor_with_same_name_does_not_adopt(
    make_wfe: Factory, running_run: dict[str, Any]
) -> None:
    decision = _decide(make_wfe(uid="new-uid"), Observation(run=running_run))
    assert decision.actions == (ReadHolder("default", "restart-nginx"),)


def test_foreign_run_reads_its_holder(make_wfe: Factory) -> None:
    decision = _decide(make_wfe(), Observation(run=_foreign_run()))
    assert decision.actions == (ReadHolder("default", "holder"),)


@pytest.mark.parametrize("holder_phase", [None, "Pending", "Running"])
def test_active_holder_makes_a_duplicate(make_wfe: Factory, holder_phase: str | None) -> None:
    obs = Observation(run=_foreign_run(), holder=_holder(make_wfe, holder_phase))
    raw = make_wfe()
    decision = _decide(raw, obs)
    status = _status(decision)
    assert status.phase == Phase.FAILED
    assert status.failure_details is not None
    assert status.failure_details.reason == FailureReason.DEDUPLICATED
    assert status.failure_details.was_execution_failure is False
    assert "default/holder" in status.failure_details.message
    assert f"{NS}/{PR}" in status.failure_details.message
    assert status.deduplicated_by == "holder"
    assert status.failure_reason == "Deduplicated"
    assert _cond(decision, "Ready") == ("False", "Deduplicated")
    assert _owed_types(raw, decision) == [FAI]


def test_recent_holder_means_wait_for_cooldown(make_wfe: Factory) -> None:
    holder = _holder(make_wfe, "Completed", completed="2025-06-01T10:01:00Z")
    raw = make_wfe()
    decision = _decide(raw, Observation(run=_foreign_run(), holder=holder))
    status = _status(decision)
    assert status.phase == Phase.PENDING
    assert _cond(decision, "ResourceLocked") == ("True", "RecentlyRemediated")
    assert _cond(decision, "Ready") == ("Unknown", "Pending")
    assert decision.actions == (Requeue(timedelta(minutes=4), "cooldown end"),)
    assert _owed_types(raw, decision) == []


@pytest.mark.parametrize("finished", ["failedAt", "run completionTime"])
def test_a_holder_without_completion_time_waits_from_when_it_finished(
    make_wfe: Factory, finished: str
) -> None:
    holder = make_wfe(name="holder", uid="holder-uid", phase="Failed", status={})
    run = _foreign_run()
    if finished == "failedAt":
        holder["status"]["failureDetails"] = {
            "failedTaskIndex": 0,
            "failedTaskName": "",
            "reason": "TaskFailed",
            "message": "m",
            "failedAt": "2025-06-01T10:01:00Z",
            "executionTimeBeforeFailure": "",
            "naturalLanguageSummary": "",
        }
    else:
        run["status"] = {"completionTime": "2025-06-01T10:01:00Z"}
    decision = _decide(make_wfe(), Observation(run=run, holder=holder))
    assert decision.actions == (Requeue(timedelta(minutes=4), "cooldown end"),)


def test_waiting_again_writes_nothing(make_wfe: Factory) -> None:
    holder = _holder(make_wfe, "Failed", completed="2025-06-01T10:01:00Z")
    first = _decide(make_wfe(), Observation(run=_foreign_run(), holder=holder))
    waiting = make_wfe(status=_status(first).to_api())
    later = NOW + timedelta(minutes=1)
    second = _decide(waiting, Observation(run=_foreign_run(), holder=holder), now=later)
    assert second.status is None
    assert second.actions == (Requeue(timedelta(minutes=3), "cooldown end"),)


def test_younger_waiter_lets_the_oldest_go_first(make_wfe: Factory) -> None:
    holder = _holder(make_wfe, "Completed", completed="2025-06-01T10:01:00Z")
    obs = Observation(run=_foreign_run(), holder=holder, waiting_ahead=("default/older",))
    decision = _decide(make_wfe(), obs)
    assert decision.status is None
    assert decision.actions == (Requeue(timedelta(minutes=4), "cooldown end"),)


STALE_DELETE = DeleteRun(namespace=NS, name=PR, uid="run-uid-9", resource_version="99")


@pytest.mark.parametrize(
    "holder_case",
    ["gone", "cooldown-over", "exactly-at-cooldown", "recreated-under-same-name"],
)
def test_stale_lock_is_deleted_with_preconditions(make_wfe: Factory, holder_case: str) -> None:
    holders: dict[str, dict[str, Any] | None] = {
        "gone": None,
        "cooldown-over": _holder(make_wfe, "Completed", completed="2025-06-01T09:50:00Z"),
        "exactly-at-cooldown": _holder(make_wfe, "Failed", completed="2025-06-01T09:57:00Z"),
        "recreated-under-same-name": _holder(make_wfe, "Running", uid="other-uid"),
    }
    decision = _decide(make_wfe(), Observation(run=_foreign_run(), holder=holders[holder_case]))
    assert decision.actions == (STALE_DELETE,)
    assert decision.status is None


@pytest.mark.parametrize(
    "annotations",
    [
        {},
        {"kubernaut.ai/workflow-execution-uid": "holder-uid"},
        {"kubernaut.ai/workflow-execution": "x"},
    ],
    ids=["none", "uid-only", "malformed-holder"],
)
def test_a_run_no_workflow_execution_created_is_never_deleted_or_adopted(
    make_wfe: Factory, annotations: dict[str, str]
) -> None:
    decision = _decide(make_wfe(), Observation(run=_foreign_run(annotations=annotations)))
    assert not any(isinstance(action, DeleteRun) for action in decision.actions)
    status = _status(decision)
    assert status.phase == Phase.FAILED
    assert status.failure_details is not None
    assert status.failure_details.reason == FailureReason.UNKNOWN
    assert f"PipelineRun {NS}/{PR}" in status.failure_details.message
    assert not status.failure_details.was_execution_failure
    (event,) = decision.events
    assert event.type == EventType.WARNING
    assert "delete it, then create this WorkflowExecution again" in event.message


@pytest.mark.parametrize("code", [200, 404, 409])
def test_after_deleting_a_stale_lock_reread(make_wfe: Factory, code: int) -> None:
    decision = _decide(make_wfe(), Observation(delete=DeleteOutcome(code)))
    assert decision.actions == (ReadLock(NS, PR),)


# --- Running ---------------------------------------------------------------------------------


def _running(make_wfe: Factory, **extra: Any) -> dict[str, Any]:
    return make_wfe(status={**RUNNING_STATUS, **extra})


def test_running_reads_the_run(make_wfe: Factory) -> None:
    assert _decide(_running(make_wfe)).actions == (ReadRun(NS, PR),)


def test_running_refreshes_summary_once(make_wfe: Factory, running_run: dict[str, Any]) -> None:
    decision = _decide(_running(make_wfe), Observation(run=running_run, taskruns=[]))
    status = _status(decision)
    assert status.phase == Phase.RUNNING
    assert _cond(decision, "TektonPipelineRunning") == ("True", "PipelineStarted")
    again = _decide(make_wfe(status=status.to_api()), Observation(run=running_run, taskruns=[]))
    assert again.status is None


def test_running_captures_blocked_child(
    make_wfe: Factory, running_run: dict[str, Any], make_taskrun: Factory
) -> None:
    stuck = make_taskrun(
        "apply", "ExceededResourceQuota", "exceeded quota", status="Unknown", pod=False
    )
    decision = _decide(_running(make_wfe), Observation(run=running_run, taskruns=[stuck]))
    summary = _status(decision).pipeline_run_status
    assert summary is not None
    assert summary.blocked_reason == "ExceededResourceQuota"


def test_succeeded_run_completes(make_wfe: Factory, succeeded_run: dict[str, Any]) -> None:
    raw = _running(make_wfe)
    decision = _decide(raw, Observation(run=succeeded_run, taskruns=[]))
    status = _status(decision)
    assert status.phase == Phase.COMPLETED
    assert status.completion_time == datetime(2025, 6, 1, 10, 1, 30, tzinfo=UTC)
    assert status.duration == "1m30s"
    assert status.pipeline_run_status is not None
    assert status.pipeline_run_status.completed_tasks == 2
    assert _cond(decision, "TektonPipelineComplete") == ("True", "PipelineSucceeded")
    assert _cond(decision, "Ready") == ("True", "Completed")
    assert decision.events[0].reason == EventReason.WORKFLOW_COMPLETED
    assert decision.events[0].type == EventType.NORMAL
    assert _owed_types(raw, decision) == [SEL, STA, COM]
    assert decision.outcome is not None
    assert (decision.outcome.phase, decision.outcome.duration_seconds) == (Phase.COMPLETED, 90)


def test_succeeded_without_completion_time_uses_now(
    make_wfe: Factory, succeeded_run: dict[str, Any]
) -> None:
    del succeeded_run["status"]["completionTime"]
    decision = _decide(_running(make_wfe), Observation(run=succeeded_run, taskruns=[]))
    assert _status(decision).completion_time == NOW
    assert _status(decision).duration == "2m0s"


def test_failed_run_needs_its_taskruns(make_wfe: Factory, failed_run: dict[str, Any]) -> None:
    decision = _decide(_running(make_wfe), Observation(run=failed_run))
    assert decision.actions == (ReadTaskRuns(NS, PR),)


@pytest.mark.parametrize(
    ("taskrun_fixture", "reason", "complete_reason"),
    [
        ("failed_taskrun", FailureReason.TASK_FAILED, "TaskFailed"),
        ("oom_taskrun", FailureReason.OOM_KILLED, "OOMKilled"),
    ],
)
def test_failed_run_fails_with_analysis(
    make_wfe: Factory,
    failed_run: dict[str, Any],
    request: pytest.FixtureRequest,
    *,
    taskrun_fixture: str,
    reason: FailureReason,
    complete_reason: str,
) -> None:
    taskrun = request.getfixturevalue(taskrun_fixture)
    raw = _running(make_wfe)
    decision = _decide(raw, Observation(run=failed_run, taskruns=[taskrun]))
    status = _status(decision)
    assert status.phase == Phase.FAILED
    assert status.failure_details is not None
    assert status.failure_details.reason == reason
    assert status.failure_details.failed_task_name == "apply"
    assert status.failure_details.was_execution_failure is True
    assert status.duration == "1m5s"
    assert _cond(decision, "TektonPipelineComplete") == ("False", complete_reason)
    assert decision.events[0].type == EventType.WARNING
    assert decision.events[0].reason == EventReason.WORKFLOW_FAILED
    assert _owed_types(raw, decision) == [SEL, STA, FAI]


def test_timed_out_run_is_deadline_exceeded(
    make_wfe: Factory, timeout_run: dict[str, Any], cancelled_taskrun: dict[str, Any]
) -> None:
    decision = _decide(
        _running(make_wfe), Observation(run=timeout_run, taskruns=[cancelled_taskrun])
    )
    assert _cond(decision, "TektonPipelineComplete") == ("False", "DeadlineExceeded")


def _blocked_by_quota(make_wfe: Factory) -> dict[str, Any]:
    """Running, with a blocked reason seen earlier (Tekton erases it once the run moves on)."""
    summary = {
        "status": "Unknown",
        "reason": "Running",
        "blockedReason": "ExceededResourceQuota",
        "blockedMessage": "exceeded quota",
    }
    return _running(make_wfe, pipelineRunStatus=summary)


def test_running_keeps_a_blocked_reason_tekton_no_longer_shows(
    make_wfe: Factory, running_run: dict[str, Any]
) -> None:
    decision = _decide(_blocked_by_quota(make_wfe), Observation(run=running_run, taskruns=[]))
    summary = _status(decision).pipeline_run_status
    assert summary is not None
    assert (summary.blocked_reason, summary.blocked_message) == (
        "ExceededResourceQuota",
        "exceeded quota",
    )


def test_a_run_blocked_by_quota_that_times_out_failed_for_the_quota(
    make_wfe: Factory, timeout_run: dict[str, Any]
) -> None:
    after_the_run = datetime(2025, 6, 1, 10, 31, tzinfo=UTC)  # its end is believed: not ahead
    obs = Observation(run=timeout_run, taskruns=[])
    decision = _decide(_blocked_by_quota(make_wfe), obs, now=after_the_run)
    status = _status(decision)
    assert status.failure_details is not None
    assert status.failure_details.reason == FailureReason.RESOURCE_EXHAUSTED
    assert status.pipeline_run_status is not None
    assert status.pipeline_run_status.blocked_reason == "ExceededResourceQuota"
    assert decision.outcome is not None
    assert (decision.outcome.phase, decision.outcome.duration_seconds) == (Phase.FAILED, 1801)


def test_a_failed_run_without_completion_time_failed_now(
    make_wfe: Factory, failed_run: dict[str, Any], failed_taskrun: dict[str, Any]
) -> None:
    del failed_run["status"]["completionTime"]
    decision = _decide(_running(make_wfe), Observation(run=failed_run, taskruns=[failed_taskrun]))
    details = _status(decision).failure_details
    assert details is not None
    assert details.failed_at == NOW


def test_running_get_error_backs_off_without_writing(make_wfe: Factory) -> None:
    decision = _decide(_running(make_wfe), Observation(run_error=ApiFailure(503)))
    assert decision.status is None
    assert [action.after for action in decision.actions if isinstance(action, Requeue)] == [
        backoff(1)
    ]


def test_failed_run_without_children_needs_no_taskruns(
    make_wfe: Factory, make_run: Factory
) -> None:
    run = make_run("CouldntGetPipeline", "Error retrieving pipeline for pipelinerun x")
    decision = _decide(_running(make_wfe), Observation(run=run))
    status = _status(decision)
    assert status.failure_details is not None
    assert status.failure_details.reason == FailureReason.CONFIGURATION_ERROR
    assert status.failure_details.was_execution_failure is False
    assert _cond(decision, "TektonPipelineComplete") == ("False", "PipelineFailed")


@pytest.mark.parametrize("how", ["gone", "replaced", "being-deleted"])
def test_run_deleted_externally(make_wfe: Factory, running_run: dict[str, Any], how: str) -> None:
    run: dict[str, Any] | None = None
    if how == "replaced":
        run = _foreign_run()
    elif how == "being-deleted":
        running_run["metadata"]["deletionTimestamp"] = "2025-06-01T10:01:00Z"
        run = running_run
    decision = _decide(_running(make_wfe), Observation(run=run))
    status = _status(decision)
    assert status.phase == Phase.FAILED
    assert status.failure_details is not None
    assert status.failure_details.reason == FailureReason.UNKNOWN
    assert status.failure_details.message == "PipelineRun was deleted externally"
    assert status.failure_details.was_execution_failure is True
    assert status.failure_details.execution_time_before_failure == "2m0s"
    assert status.completion_time == NOW
    assert _cond(decision, "TektonPipelineComplete") == ("False", "PipelineFailed")
    assert [(e.reason, e.type) for e in decision.events] == [
        (EventReason.WORKFLOW_FAILED, EventType.WARNING)
    ]
    assert decision.outcome is not None
    assert (decision.outcome.phase, decision.outcome.duration_seconds) == (Phase.FAILED, 120)


def test_run_deleted_before_anything_started(make_wfe: Factory) -> None:
    raw = _running(
        make_wfe, pipelineRunStatus={"status": "Unknown", "reason": "ResolvingPipelineRef"}
    )
    status = _status(_decide(raw, Observation(run=None)))
    assert status.failure_details is not None
    assert status.failure_details.was_execution_failure is False


# --- Terminal: lock release ------------------------------------------------------------------


def _terminal(make_wfe: Factory, completed: str = "2025-06-01T10:01:00Z") -> dict[str, Any]:
    return make_wfe(status={**RUNNING_STATUS, "phase": "Completed", "completionTime": completed})


def test_terminal_without_run_holds_nothing(make_wfe: Factory) -> None:
    raw = make_wfe(status={"phase": "Failed", "completionTime": "2025-06-01T10:01:00Z"})
    decision = _decide(raw)
    assert (decision.status, decision.actions, decision.events) == (None, (), ())


def test_terminal_holds_lock_until_cooldown_ends(make_wfe: Factory) -> None:
    decision = _decide(_terminal(make_wfe))
    assert decision.actions == (Requeue(timedelta(minutes=4), "lock release"),)
    assert decision.status is None
    at_release = _decide(_terminal(make_wfe), now=NOW + timedelta(minutes=4))
    assert at_release.actions == (ReadRun(NS, PR),)


def test_terminal_after_cooldown_reads_then_deletes_own_run(
    make_wfe: Factory, succeeded_run: dict[str, Any]
) -> None:
    raw = _terminal(make_wfe, completed="2025-06-01T09:50:00Z")
    assert _decide(raw).actions == (ReadRun(NS, PR),)
    decision = _decide(raw, Observation(run=succeeded_run))
    assert decision.actions == (DeleteRun(NS, PR, "0b6c5c1e-pr-uid", "42"),)


def test_terminal_leaves_someone_elses_run(make_wfe: Factory) -> None:
    raw = _terminal(make_wfe, completed="2025-06-01T09:50:00Z")
    assert _decide(raw, Observation(run=_foreign_run())).actions == ()
    assert _decide(raw, Observation(run=None)).actions == ()


@pytest.mark.parametrize(
    ("code", "released"), [(200, True), (202, True), (404, False), (409, False)]
)
def test_lock_released_event_only_after_real_delete(
    make_wfe: Factory, code: int, released: bool
) -> None:
    raw = _terminal(make_wfe, completed="2025-06-01T09:50:00Z")
    decision = _decide(raw, Observation(delete=DeleteOutcome(code)))
    expected = [(EventReason.LOCK_RELEASED, EventType.NORMAL)] if released else []
    assert [(e.reason, e.type) for e in decision.events] == expected


def test_terminal_resends_undelivered_audit(make_wfe: Factory) -> None:
    raw = _terminal(make_wfe)
    raw["status"]["auditedEvents"] = [SEL.value, STA.value]
    assert _owed_types(raw, _decide(raw)) == [COM]


# --- Deletion --------------------------------------------------------------------------------


def _deleted(make_wfe: Factory, **status: Any) -> dict[str, Any]:
    return make_wfe(status=status, deletionTimestamp="2025-06-01T10:01:30Z")


def test_deletion_without_finalizer_does_nothing(make_wfe: Factory) -> None:
    raw = make_wfe(finalizers=["other"], deletionTimestamp="2025-06-01T10:01:30Z")
    assert _decide(raw) == Decision()


def test_deletion_deletes_only_our_run(make_wfe: Factory, running_run: dict[str, Any]) -> None:
    raw = _deleted(make_wfe, **RUNNING_STATUS)
    assert _decide(raw).actions == (ReadRun(NS, PR),)
    assert _decide(raw, Observation(run=running_run)).actions == (
        DeleteRun(NS, PR, "0b6c5c1e-pr-uid", "42"),
    )
    foreign = _decide(raw, Observation(run=_foreign_run()))
    assert not any(isinstance(a, DeleteRun) for a in foreign.actions)


DELETED_AT = datetime(2025, 6, 1, 10, 1, 30, tzinfo=UTC)
WAIT = CONFIG.audit.deletion_delivery_timeout


def _deleted_while_running(make_wfe: Factory) -> dict[str, Any]:
    return _deleted(make_wfe, **RUNNING_STATUS, auditedEvents=[SEL.value, STA.value])


def _waited(since: datetime, *pending: AuditEventType) -> Observation:
    """After our run's DELETE, with the audit events handed to delivery at `since`."""
    return Observation(delete=DeleteOutcome(200), audit_wait=AuditWait(since, frozenset(pending)))


def test_deletion_while_running_owes_failed_and_hands_it_over_first(make_wfe: Factory) -> None:
    raw = _deleted_while_running(make_wfe)
    decision = _decide(raw, Observation(delete=DeleteOutcome(200)))
    assert _owed_types(raw, decision) == [FAI]
    assert _owed(raw, decision)[0].timestamp == DELETED_AT
    assert decision.actions == (AwaitAudit(),)
    assert decision.events == ()


def test_deletion_waits_for_a_pending_event_by_requeue(make_wfe: Factory) -> None:
    since = NOW - timedelta(seconds=2)
    decision = _decide(_deleted_while_running(make_wfe), _waited(since, FAI))
    why = f"waiting for DataStorage to acknowledge {FAI.value}"
    assert decision.actions == (Requeue(WAIT - (NOW - since), why),)
    assert decision.events == ()


def test_deletion_removes_the_finalizer_once_nothing_is_pending(make_wfe: Factory) -> None:
    raw = _deleted_while_running(make_wfe)
    no_longer_owed = _waited(NOW, SEL)  # pending in delivery, but already audited in status
    for obs in (_waited(NOW), no_longer_owed):
        decision = _decide(raw, obs)
        assert decision.actions == (RemoveFinalizer(),)
        assert decision.events[0].reason == EventReason.WORKFLOW_EXECUTION_DELETED
        assert decision.events[0].type == EventType.NORMAL
        assert decision.events[0].message == "WorkflowExecution deleted in phase Running"


@pytest.mark.parametrize("late", [timedelta(0), timedelta(hours=1)])
def test_deletion_gives_up_waiting_at_the_deadline(make_wfe: Factory, late: timedelta) -> None:
    since = NOW - WAIT - late
    decision = _decide(_deleted_while_running(make_wfe), _waited(since, FAI, SEL))
    assert decision.actions == (RemoveFinalizer(unacknowledged=(FAI,)),)
    assert decision.events[0].reason == EventReason.WORKFLOW_EXECUTION_DELETED


def test_deletion_wait_is_bounded_by_the_configured_timeout(make_wfe: Factory) -> None:
    config = load_config(None, {"audit.deletion_delivery_timeout": "30s"})
    raw = _deleted_while_running(make_wfe)
    since = NOW - timedelta(seconds=20)
    waiting = _decide(raw, _waited(since, FAI), config=config)
    assert [a.after for a in waiting.actions if isinstance(a, Requeue)] == [timedelta(seconds=10)]
    late = _decide(raw, _waited(since, FAI), config=config, now=NOW + timedelta(seconds=10))
    assert late.actions == (RemoveFinalizer(unacknowledged=(FAI,)),)


def test_deletion_with_nothing_due_removes_finalizer_at_once(make_wfe: Factory) -> None:
    raw = _deleted(make_wfe)
    decision = _decide(raw, Observation(run=None))
    assert decision.actions == (RemoveFinalizer(),)
    assert _owed_types(raw, decision) == []
    assert decision.events[0].message == "WorkflowExecution deleted in phase Pending"


# --- Misc ------------------------------------------------------------------------------------


def test_status_write_rejected_fallback(make_wfe: Factory) -> None:
    wfe = parse_wfe(_running(make_wfe))
    decision = status_write_rejected(wfe, "422 Invalid: status.phase", NOW)
    status = _status(decision)
    assert status.phase == Phase.FAILED
    assert status.failure_details is not None
    assert status.failure_details.reason == FailureReason.UNKNOWN
    message = "Status write rejected by the API server: 422 Invalid: status.phase"
    assert status.failure_details.message == message
    assert status.failure_details.natural_language_summary == (
        f"The controller could not record the outcome: {message}"
    )
    assert (status.completion_time, status.observed_generation) == (NOW, 1)
    assert _cond(decision, "Ready") == ("False", "Unknown")
    assert decision.events[0].reason == EventReason.STATUS_WRITE_REJECTED
    assert decision.events[0].type == EventType.WARNING


def test_event_messages_are_bounded(make_wfe: Factory) -> None:
    raw = make_wfe()
    raw["spec"]["parameters"] = {f"bad name {i}": "x" for i in range(60)}
    decision = _decide(raw)
    assert len(decision.events[0].message) <= 1024


def test_decide_accepts_a_typed_wfe(make_wfe: Factory) -> None:
    decision = decide(parse_wfe(make_wfe()), Observation(run=None), CONFIG, NOW)
    assert isinstance(decision.actions[0], CreateRun)


def test_deletion_get_error_retries_instead_of_dropping_the_finalizer(make_wfe: Factory) -> None:
    decision = _decide(_deleted(make_wfe, **RUNNING_STATUS), Observation(run_error=ApiFailure(500)))
    assert [a.after for a in decision.actions if isinstance(a, Requeue)] == [backoff(1)]
    assert not any(isinstance(a, RemoveFinalizer) for a in decision.actions)


def test_terminal_get_error_backs_off(make_wfe: Factory) -> None:
    raw = _terminal(make_wfe, completed="2025-06-01T09:50:00Z")
    decision = _decide(raw, Observation(run_error=ApiFailure(503)))
    assert [a.after for a in decision.actions if isinstance(a, Requeue)] == [backoff(1)]


def test_waiters_ahead_orders_by_creation_then_name(make_wfe: Factory) -> None:
    locked = {
        "phase": "Pending",
        "conditions": [
            {
                "type": "ResourceLocked",
                "status": "True",
                "reason": "RecentlyRemediated",
                "message": "",
                "lastTransitionTime": "2025-06-01T10:00:00Z",
            }
        ],
    }
    me = parse_wfe(make_wfe(name="me", uid="me", created="2025-06-01T09:59:00Z"))
    others = [
        parse_wfe(make_wfe(name="b-older", uid="1", created="2025-06-01T09:58:00Z", status=locked)),
        parse_wfe(make_wfe(name="a-older", uid="2", created="2025-06-01T09:58:00Z", status=locked)),
        parse_wfe(make_wfe(name="younger", uid="3", created="2025-06-01T10:00:00Z", status=locked)),
        parse_wfe(make_wfe(name="not-waiting", uid="4", created="2025-06-01T09:00:00Z")),
        parse_wfe(
            make_wfe(
                name="other-target",
                uid="5",
                target="ns/deployment/x",
                created="2025-06-01T09:00:00Z",
                status=locked,
            )
        ),
        parse_wfe(make_wfe(name="me", uid="me", created="2025-06-01T09:59:00Z", status=locked)),
    ]
    assert waiters_ahead(me, others) == ("default/a-older", "default/b-older")


def _build_that_overflows(*_: Any, **__: Any) -> dict[str, Any]:
    raise OverflowError("date value out of range")


def test_input_the_core_cannot_handle_fails_the_wfe_before_anything_runs(
    make_wfe: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stands for any value the CRD admits and the core still chokes on: the same input would
    fail every retry the same way, so it ends as ConfigurationError instead."""
    monkeypatch.setattr("kubernaut_wfe.core.pending.build_pipelinerun", _build_that_overflows)
    decision = _decide(make_wfe(), Observation(run=None))
    status = _status(decision)
    assert status.phase == Phase.FAILED
    assert status.failure_details is not None
    assert status.failure_details.reason == FailureReason.CONFIGURATION_ERROR
    assert "OverflowError: date value out of range" in status.failure_details.message
    assert not any(isinstance(action, CreateRun) for action in decision.actions)


def test_once_a_run_exists_an_error_of_the_core_is_not_hidden(
    make_wfe: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any, **__: Any) -> Decision:
        raise ValueError("broken")

    monkeypatch.setattr("kubernaut_wfe.core.decisions.decide_pending", broken)
    with pytest.raises(ValueError, match="broken"):
        _decide(make_wfe(), Observation(run=_foreign_run()))


@pytest.mark.parametrize(
    "tampered",
    [
        {},
        {"kubernaut.ai/workflow-execution": "someone-else"},
        {"tekton.dev/pipeline": "workflow", "kubernaut.ai/workflow-id": "restart"},
    ],
    ids=["all-removed", "selection-label-changed", "three-removed"],
)
def test_a_run_taken_out_of_the_watch_selection_gets_its_labels_back(
    make_wfe: Factory, running_run: dict[str, Any], tampered: dict[str, str]
) -> None:
    """Ownership is the uid annotation, not the labels; but a run without them is no longer
    seen by the label-selected watch, so the controller puts them back before following it."""
    expected = running_run["metadata"]["labels"]
    running_run["metadata"]["labels"] = tampered
    decision = _decide(_running(make_wfe), Observation(run=running_run, taskruns=[]))
    (action,) = decision.actions
    assert isinstance(action, RestoreRunMetadata)
    assert (action.namespace, action.name) == (NS, PR)
    ours = {key: value for key, value in expected.items() if key.startswith("kubernaut.ai/")}
    assert {**tampered, **action.labels} == {**tampered, **ours}
    assert set(action.labels) == {k for k, v in ours.items() if tampered.get(k) != v}
    assert decision.status is None
