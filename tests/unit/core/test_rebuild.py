"""A status someone else wrote never runs a workflow twice, claims an outcome that did not happen
or holds a lock forever (core.record, core.rebuild)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kubernaut_wfe.constants import (
    AuditEventType,
    EventReason,
    FailureReason,
    Phase,
    RunKind,
    WfeAnnotation,
)
from kubernaut_wfe.core.actions import (
    CancelRun,
    CreateRun,
    Decision,
    DeleteRun,
    ReadHolder,
    ReadRun,
    ReadTaskRuns,
    RecordExecution,
    RestoreRunMetadata,
)
from kubernaut_wfe.core.audit import undelivered_audit_events
from kubernaut_wfe.core.config import load_config
from kubernaut_wfe.core.decisions import decide
from kubernaut_wfe.core.observation import Created, Observation
from kubernaut_wfe.core.record import ExecutionRecord, UnreadableRecord, read_record, record_of_run
from kubernaut_wfe.core.validation import parse_wfe

Factory = Callable[..., dict[str, Any]]
CONFIG = load_config(None)
NOW = datetime(2025, 6, 1, 10, 2, tzinfo=UTC)
PR = "wfe-f3457dcc8fbcb6d9"
NS = "kubernaut-workflows"
RUN_UID = "0b6c5c1e-pr-uid"
SEL, STA, COM, FAI = (
    AuditEventType.SELECTION_COMPLETED,
    AuditEventType.EXECUTION_STARTED,
    AuditEventType.WORKFLOW_COMPLETED,
    AuditEventType.WORKFLOW_FAILED,
)
RUNNING = {
    "phase": "Running",
    "startTime": "2025-06-01T10:00:00Z",
    "pipelineRunRef": {"name": PR},
    "pipelineRunStatus": {"status": "Unknown", "reason": "Running"},
    "auditedEvents": [SEL.value, STA.value],
}


def recorded(run: dict[str, Any]) -> dict[str, str]:
    return record_of_run(run).annotation()


def owed(raw: dict[str, Any], decision: Decision) -> list[AuditEventType]:
    """The audit events the controller hands to delivery once the decision's status is written."""
    wfe = parse_wfe(raw)
    if decision.status is not None:
        wfe = wfe.model_copy(update={"status": decision.status})
    return [event.event_type for event in undelivered_audit_events(wfe)]


def test_the_record_names_the_run_by_its_uid(running_run: dict[str, Any]) -> None:
    (text,) = recorded(running_run).values()
    assert (WfeAnnotation.EXECUTION_RESOURCE.value,) == tuple(recorded(running_run))
    wfe = parse_wfe({"metadata": {"annotations": recorded(running_run)}})
    assert read_record(wfe) == ExecutionRecord("PipelineRun", NS, PR, RUN_UID)
    assert RUN_UID in text


@pytest.mark.parametrize("text", ["", "not json", "[]", '{"kind":"PipelineRun"}', '{"uid":1}'])
def test_an_edited_record_is_unreadable_not_absent(text: str) -> None:
    wfe = parse_wfe({"metadata": {"annotations": {WfeAnnotation.EXECUTION_RESOURCE.value: text}}})
    assert read_record(wfe) == UnreadableRecord(text)


def test_the_run_is_recorded_before_any_status_says_it_exists(
    make_wfe: Factory, running_run: dict[str, Any]
) -> None:
    raw = make_wfe()
    first = decide(raw, Observation(create=Created(running_run), run=None), CONFIG, NOW)
    assert first.actions == (RecordExecution(recorded(running_run)),)
    assert first.status is None
    raw["metadata"]["annotations"] = recorded(running_run)
    then = decide(raw, Observation(create=Created(running_run), run=None), CONFIG, NOW)
    assert then.status is not None
    assert then.status.phase == Phase.RUNNING


def test_an_adopted_run_is_recorded_too(make_wfe: Factory, running_run: dict[str, Any]) -> None:
    decision = decide(make_wfe(), Observation(run=running_run), CONFIG, NOW)
    assert decision.actions == (RecordExecution(recorded(running_run)),)


def test_a_running_wfe_without_its_record_gets_it(
    make_wfe: Factory, running_run: dict[str, Any]
) -> None:
    decision = decide(make_wfe(status=RUNNING), Observation(run=running_run), CONFIG, NOW)
    assert decision.actions == (RecordExecution(recorded(running_run)),)


# --- a lost status ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [{}, {"phase": "Pending"}, {"phase": ""}])
def test_a_lost_status_reads_the_recorded_run_and_never_creates(
    make_wfe: Factory, running_run: dict[str, Any], status: dict[str, Any]
) -> None:
    raw = make_wfe(status=status, annotations=recorded(running_run))
    decision = decide(raw, Observation(), CONFIG, NOW)
    assert decision.actions == (ReadRun(NS, PR),)


def test_a_lost_status_reads_a_recorded_job_as_a_job(make_wfe: Factory) -> None:
    """Found by the chaos soak: a leader killed between a Job's record and its Running status
    left the next leader reading a PipelineRun of the Job's name, which failed the WFE."""
    record = ExecutionRecord(kind=RunKind.JOB, namespace=NS, name=PR, uid=RUN_UID)
    raw = make_wfe(annotations=record.annotation())
    decision = decide(raw, Observation(), CONFIG, NOW)
    assert decision.actions == (ReadRun(NS, PR, RunKind.JOB),)
    gone = decide(raw, Observation(run=None), CONFIG, NOW)
    assert gone.status is not None
    assert gone.status.failure_details is not None
    assert f"Job {NS}/{PR}" in gone.status.failure_details.message


def test_a_lost_status_is_rebuilt_from_the_recorded_run(
    make_wfe: Factory, running_run: dict[str, Any]
) -> None:
    raw = make_wfe(annotations=recorded(running_run))
    decision = decide(raw, Observation(run=running_run), CONFIG, NOW)
    assert decision.status is not None
    assert decision.status.phase == Phase.RUNNING
    assert decision.status.pipeline_run_ref is not None
    assert decision.status.pipeline_run_ref.name == PR
    # The start time is the run's, so the re-derived audit events are the ones first sent.
    assert decision.status.start_time == datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
    assert owed(raw, decision) == [SEL, STA]
    assert EventReason.STATUS_REBUILT in {event.reason for event in decision.events}
    assert not any(isinstance(action, CreateRun) for action in decision.actions)


def test_a_finished_recorded_run_rebuilds_to_its_outcome(
    make_wfe: Factory, succeeded_run: dict[str, Any]
) -> None:
    raw = make_wfe(annotations=recorded(succeeded_run))
    rebuilt = decide(raw, Observation(run=succeeded_run, taskruns=[]), CONFIG, NOW)
    assert rebuilt.status is not None
    assert rebuilt.status.phase == Phase.RUNNING
    assert owed(raw, rebuilt) == [SEL, STA]
    raw["status"] = rebuilt.status.model_dump(mode="json", by_alias=True, exclude_none=True)
    ended = decide(raw, Observation(run=succeeded_run, taskruns=[]), CONFIG, NOW)
    assert ended.status is not None
    assert ended.status.phase == Phase.COMPLETED
    assert owed(raw, ended) == [SEL, STA, COM]


@pytest.mark.parametrize("gone", ["absent", "someone else's", "being deleted"])
def test_a_lost_status_whose_run_is_gone_fails_without_running_again(
    make_wfe: Factory, running_run: dict[str, Any], gone: str
) -> None:
    raw = make_wfe(annotations=recorded(running_run))
    other = copy.deepcopy(running_run)
    if gone == "someone else's":
        other["metadata"]["uid"] = "another-run"
        other["metadata"]["annotations"]["kubernaut.ai/workflow-execution-uid"] = "another-wfe"
    if gone == "being deleted":
        other["metadata"]["deletionTimestamp"] = "2025-06-01T10:01:00Z"
    decision = decide(raw, Observation(run=None if gone == "absent" else other), CONFIG, NOW)
    assert decision.status is not None
    assert decision.status.phase == Phase.FAILED
    details = decision.status.failure_details
    assert details is not None
    assert details.reason == FailureReason.UNKNOWN
    assert f"{NS}/{PR}" in details.message
    assert "not run again" in details.message
    assert decision.actions == ()
    assert owed(raw, decision) == [FAI]


def test_an_edited_record_fails_the_lost_status_without_a_read(make_wfe: Factory) -> None:
    raw = make_wfe(annotations={WfeAnnotation.EXECUTION_RESOURCE.value: "edited"})
    decision = decide(raw, Observation(), CONFIG, NOW)
    assert decision.status is not None
    assert decision.status.phase == Phase.FAILED
    assert decision.actions == ()
    details = decision.status.failure_details
    assert details is not None
    assert "'edited'" in details.message


# --- a phase written by someone else -------------------------------------------------------------


def completed_by_someone(make_wfe: Factory, run: dict[str, Any]) -> dict[str, Any]:
    status = {
        **RUNNING,
        "phase": "Completed",
        "completionTime": "2025-06-01T10:01:00Z",
        "auditedEvents": [SEL.value, STA.value, COM.value],
    }
    return make_wfe(status=status, annotations=recorded(run))


def test_completed_while_the_run_goes_on_is_rebuilt_as_running(
    make_wfe: Factory, running_run: dict[str, Any]
) -> None:
    raw = completed_by_someone(make_wfe, running_run)
    decision = decide(raw, Observation(run=running_run), CONFIG, NOW)
    status = decision.status
    assert status is not None
    assert status.phase == Phase.RUNNING
    assert status.completion_time is None
    ready = status.condition("Ready")
    assert ready is not None
    assert ready.status == "Unknown"
    assert COM not in status.audited_events
    assert owed(raw, decision) == []
    assert decision.outcome is None
    assert [event.reason for event in decision.events] == [EventReason.STATUS_REBUILT]
    assert not any(isinstance(action, DeleteRun) for action in decision.actions)


def test_completed_on_a_failed_run_ends_with_the_runs_real_outcome(
    make_wfe: Factory, failed_run: dict[str, Any], failed_taskrun: dict[str, Any]
) -> None:
    raw = completed_by_someone(make_wfe, failed_run)
    first = decide(raw, Observation(run=failed_run), CONFIG, NOW)
    assert isinstance(first.actions[0], ReadTaskRuns)
    decision = decide(raw, Observation(run=failed_run, taskruns=[failed_taskrun]), CONFIG, NOW)
    assert decision.status is not None
    assert decision.status.phase == Phase.FAILED
    assert owed(raw, decision) == [FAI]
    assert COM not in decision.status.audited_events


def test_completed_on_a_succeeded_run_is_left_alone(
    make_wfe: Factory, succeeded_run: dict[str, Any]
) -> None:
    raw = completed_by_someone(make_wfe, succeeded_run)
    decision = decide(raw, Observation(run=succeeded_run), CONFIG, NOW)
    assert decision.status is None
    assert decision.events == ()


def stopped_by_orchestrator(make_wfe: Factory, run: dict[str, Any], **extra: Any) -> dict[str, Any]:
    status = {**RUNNING, "phase": "Failed", **extra}
    return make_wfe(status=status, annotations=recorded(run))


def test_failed_while_the_run_goes_on_cancels_the_run(
    make_wfe: Factory, running_run: dict[str, Any]
) -> None:
    raw = stopped_by_orchestrator(make_wfe, running_run, failureReason="RR expired")
    decision = decide(raw, Observation(run=running_run), CONFIG, NOW)
    assert decision.actions == (CancelRun(NS, PR),)


def test_a_stop_request_keeps_failed_with_its_message_and_owes_failed_once(
    make_wfe: Factory, running_run: dict[str, Any]
) -> None:
    raw = stopped_by_orchestrator(make_wfe, running_run, failureReason="RR expired")
    cancelled = copy.deepcopy(running_run)
    cancelled["spec"] = {"status": "Cancelled"}
    decision = decide(raw, Observation(run=cancelled), CONFIG, NOW)
    status = decision.status
    assert status is not None
    assert status.phase == Phase.FAILED
    assert status.completion_time == NOW
    assert status.failure_details is not None
    assert status.failure_details.message == "RR expired"
    assert status.failure_details.was_execution_failure is True
    assert status.failure_reason == "RR expired"  # the orchestrator's text stays
    assert owed(raw, decision) == [FAI]
    assert [event.reason for event in decision.events] == [EventReason.EXECUTION_CANCELLED]
    assert decision.actions == ()
    # Once completed, the next reconcile waits for the cooldown, then releases the lock.
    raw["status"] = status.model_dump(mode="json", by_alias=True, exclude_none=True)
    waiting = decide(raw, Observation(run=cancelled), CONFIG, NOW)
    assert waiting.status is None
    assert owed(raw, waiting) == [FAI]
    later = NOW + CONFIG.execution.cooldown_period + timedelta(seconds=1)
    release = decide(raw, Observation(run=cancelled), CONFIG, later)
    assert isinstance(release.actions[0], DeleteRun)


def test_a_stop_request_without_a_run_is_completed(make_wfe: Factory) -> None:
    raw = make_wfe(status={"phase": "Failed"})
    decision = decide(raw, Observation(run=None), CONFIG, NOW)
    status = decision.status
    assert status is not None
    assert status.completion_time == NOW
    assert status.failure_details is not None
    assert "set to Failed by someone else" in status.failure_details.message
    assert decision.actions == ()
    assert owed(raw, decision) == [FAI]


def test_our_own_failed_with_a_run_still_going_cancels_it(
    make_wfe: Factory, running_run: dict[str, Any]
) -> None:
    raw = stopped_by_orchestrator(make_wfe, running_run, completionTime="2025-06-01T10:01:00Z")
    assert decide(raw, Observation(run=running_run), CONFIG, NOW).actions == (CancelRun(NS, PR),)


# --- audit lists written by someone else ----------------------------------------------------------


def test_an_outcome_event_marked_recorded_before_the_outcome_is_still_sent(
    make_wfe: Factory, running_run: dict[str, Any], succeeded_run: dict[str, Any]
) -> None:
    forged = {**RUNNING, "auditedEvents": [SEL.value, STA.value, COM.value]}
    raw = make_wfe(status=forged, annotations=recorded(running_run))
    decision = decide(raw, Observation(run=succeeded_run, taskruns=[]), CONFIG, NOW)
    assert decision.status is not None
    assert decision.status.phase == Phase.COMPLETED
    assert owed(raw, decision) == [COM]
    assert decision.status.audited_events == [SEL, STA]
    recorded_condition = decision.status.condition("AuditRecorded")
    assert recorded_condition is not None
    assert recorded_condition.status != "True"


# --- the run's own metadata edited ---------------------------------------------------------------


def test_an_edited_uid_annotation_keeps_the_run_ours_and_is_put_back(
    make_wfe: Factory, running_run: dict[str, Any]
) -> None:
    raw = make_wfe(status=RUNNING, annotations=recorded(running_run))
    edited = copy.deepcopy(running_run)
    edited["metadata"]["annotations"]["kubernaut.ai/workflow-execution-uid"] = "someone-else"
    decision = decide(raw, Observation(run=edited), CONFIG, NOW)
    (restore,) = decision.actions
    assert isinstance(restore, RestoreRunMetadata)
    assert dict(restore.annotations) == {
        "kubernaut.ai/workflow-execution-uid": raw["metadata"]["uid"]
    }


def test_a_waiter_does_not_break_a_lock_whose_uid_annotation_was_edited(
    make_wfe: Factory, running_run: dict[str, Any]
) -> None:
    edited = copy.deepcopy(running_run)
    edited["metadata"]["annotations"]["kubernaut.ai/workflow-execution-uid"] = "someone-else"
    holder = make_wfe(status=RUNNING, annotations=recorded(running_run))
    waiter = make_wfe(name="waiter", uid="waiter-uid")
    first = decide(waiter, Observation(run=edited), CONFIG, NOW)
    assert first.actions == (ReadHolder("default", "restart-nginx"),)
    decision = decide(waiter, Observation(run=edited, holder=holder), CONFIG, NOW)
    assert not any(isinstance(action, DeleteRun) for action in decision.actions)
    assert decision.status is not None
    details = decision.status.failure_details
    assert details is not None
    assert details.reason == FailureReason.DEDUPLICATED


@pytest.mark.parametrize(
    "change",
    [{"pipelineRunRef": {"name": "wfe-0000000000000000"}}, {"startTime": "2020-01-01T00:00:00Z"}],
)
def test_a_changed_run_name_or_start_time_is_put_back_from_the_run(
    make_wfe: Factory, running_run: dict[str, Any], change: dict[str, Any]
) -> None:
    raw = make_wfe(status={**RUNNING, **change}, annotations=recorded(running_run))
    decision = decide(raw, Observation(run=running_run), CONFIG, NOW)
    status = decision.status
    assert status is not None
    assert status.phase == Phase.RUNNING
    assert status.pipeline_run_ref is not None
    assert status.pipeline_run_ref.name == PR
    assert status.start_time == datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
    assert [event.reason for event in decision.events] == [EventReason.STATUS_REBUILT]


def test_the_recorded_run_wins_over_a_renamed_ref_after_a_restart(
    make_wfe: Factory, running_run: dict[str, Any]
) -> None:
    renamed = {**RUNNING, "pipelineRunRef": {"name": "wfe-0000000000000000"}}
    raw = make_wfe(status=renamed, annotations=recorded(running_run))
    assert decide(raw, Observation(), CONFIG, NOW).actions == (ReadRun(NS, PR),)


def test_completed_without_completion_time_gets_the_runs_so_the_lock_is_released(
    make_wfe: Factory, succeeded_run: dict[str, Any]
) -> None:
    status = {**RUNNING, "phase": "Completed"}
    raw = make_wfe(status=status, annotations=recorded(succeeded_run))
    decision = decide(raw, Observation(run=succeeded_run), CONFIG, NOW)
    assert decision.status is not None
    assert decision.status.completion_time == datetime(2025, 6, 1, 10, 1, 30, tzinfo=UTC)
    assert decision.status.phase == Phase.COMPLETED


@pytest.mark.parametrize("phase", ["Pending", "Running", None])
@pytest.mark.parametrize("failed", [False, True])
def test_an_end_set_back_is_restored_never_run_again(
    make_wfe: Factory, phase: str | None, failed: bool
) -> None:
    status: dict[str, Any] = {**RUNNING, "completionTime": "2025-06-01T10:01:00Z"}
    status["auditedEvents"] = [SEL.value, STA.value, (FAI if failed else COM).value]
    if failed:
        status["failureDetails"] = {
            "reason": "TaskFailed",
            "message": "step failed",
            "failedAt": "2025-06-01T10:01:00Z",
        }
    status.pop("phase")
    if phase is not None:
        status["phase"] = phase
    raw = make_wfe(status=status)
    decision = decide(raw, Observation(run=None), CONFIG, NOW)
    assert decision.status is not None
    assert decision.status.phase == (Phase.FAILED if failed else Phase.COMPLETED)
    assert decision.actions == ()
    assert owed(raw, decision) == []
    assert [event.reason for event in decision.events] == [EventReason.STATUS_REBUILT]
