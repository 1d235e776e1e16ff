from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from kubernaut_wfe.constants import ConditionReason, FailureReason
from kubernaut_wfe.core.failure import (
    classify_failure,
    failed_step,
    failed_task,
    failure_details,
    natural_language_summary,
    pipeline_complete_reason,
    preexecution_failure,
    was_execution_failure,
)
from kubernaut_wfe.core.models import PipelineRunSummary
from kubernaut_wfe.core.validation import parse_wfe

from .conftest import make_wfe_raw  # noqa: TID252

Factory = Callable[..., dict[str, Any]]
PR = "wfe-f3457dcc8fbcb6d9"
NOW = datetime(2025, 6, 1, 11, 0, tzinfo=UTC)
COUNTS = "Tasks Completed: 1 (Failed: 1, Cancelled 0), Skipped: 0"
QUOTA = (
    f'TaskRun Pod exceeded available resources: pods "{PR}-apply-pod" is forbidden: exceeded'
    " quota: small, requested: cpu=2, used: cpu=0, limited: cpu=1"
)


def _one_child_run(
    make_run: Factory, make_child: Factory, reason: str = "Failed", message: str = COUNTS
) -> dict[str, Any]:
    return make_run(reason, message, childReferences=[make_child("apply")])


# --- classification: one row per precedence rule, on tekton-status.md documents ---------------


def test_rule1_step_oomkilled(
    failed_run: dict[str, Any], oom_taskrun: dict[str, Any], prepare_taskrun: dict[str, Any]
) -> None:
    assert classify_failure(failed_run, [prepare_taskrun, oom_taskrun]) == FailureReason.OOM_KILLED


def test_image_path_with_room_is_not_oom(
    make_run: Factory, make_child: Factory, make_taskrun: Factory
) -> None:
    run = _one_child_run(make_run, make_child)
    child = make_taskrun(
        "apply",
        "Failed",
        '"step-apply" exited with code 1: Error',
        steps=[
            {
                "name": "apply",
                "imageID": "quay.io/bedroom/roomba:v1",
                "terminated": {"exitCode": 1, "reason": "Error"},
                "terminationReason": "Error",
            }
        ],
    )
    assert classify_failure(run, [child]) == FailureReason.TASK_FAILED


def test_rule2_quota_evidence_then_pipeline_timeout_is_resource_exhausted(
    timeout_run: dict[str, Any], make_taskrun: Factory
) -> None:
    cancelled = make_taskrun("apply", "TaskRunCancelled", "TaskRun cancelled", pod=False)
    reason = classify_failure(timeout_run, [cancelled], blocked_reason="ExceededResourceQuota")
    assert reason == FailureReason.RESOURCE_EXHAUSTED


def test_rule2_child_still_quota_blocked(
    timeout_run: dict[str, Any], make_taskrun: Factory
) -> None:
    stuck = make_taskrun("apply", "ExceededResourceQuota", QUOTA, status="Unknown", pod=False)
    assert classify_failure(timeout_run, [stuck]) == FailureReason.RESOURCE_EXHAUSTED


def test_rule2_needs_no_pod_ever(
    timeout_run: dict[str, Any], cancelled_taskrun: dict[str, Any]
) -> None:
    reason = classify_failure(timeout_run, [cancelled_taskrun], "ExceededResourceQuota")
    assert reason == FailureReason.DEADLINE_EXCEEDED


def test_rule3_pipelinerun_timeout(
    timeout_run: dict[str, Any], cancelled_taskrun: dict[str, Any]
) -> None:
    assert classify_failure(timeout_run, [cancelled_taskrun]) == FailureReason.DEADLINE_EXCEEDED
    assert classify_failure(timeout_run) == FailureReason.DEADLINE_EXCEEDED


def test_rule3_taskrun_timeout_under_failed_run(
    make_run: Factory, make_child: Factory, make_taskrun: Factory
) -> None:
    run = _one_child_run(make_run, make_child)
    child = make_taskrun(
        "apply", "TaskRunTimeout", f'TaskRun "{PR}-apply" failed to finish within "1h0m0s"'
    )
    assert classify_failure(run, [child]) == FailureReason.DEADLINE_EXCEEDED


def test_rule3_step_timeout_exceeded(
    make_run: Factory, make_child: Factory, make_taskrun: Factory
) -> None:
    run = _one_child_run(make_run, make_child)
    child = make_taskrun(
        "apply",
        "Failed",
        "step timed",
        steps=[
            {
                "name": "apply",
                "terminationReason": "TimeoutExceeded",
                "terminated": {"exitCode": 1, "reason": "Error"},
            }
        ],
    )
    assert classify_failure(run, [child]) == FailureReason.DEADLINE_EXCEEDED


def test_task_named_timeout_check_is_not_a_deadline(
    make_run: Factory, make_taskrun: Factory
) -> None:
    run = make_run(
        "Failed",
        COUNTS,
        childReferences=[
            {
                "apiVersion": "tekton.dev/v1",
                "kind": "TaskRun",
                "name": f"{PR}-timeout-check",
                "pipelineTaskName": "timeout-check",
            }
        ],
    )
    child = make_taskrun(
        "timeout-check",
        "Failed",
        '"step-timeout-check" exited with code 1: Error',
        steps=[
            {
                "name": "timeout-check",
                "terminationReason": "Error",
                "terminated": {"exitCode": 1, "reason": "Error"},
            }
        ],
    )
    assert classify_failure(run, [child]) == FailureReason.TASK_FAILED


def test_rule4_image_pull_failed(
    make_run: Factory, make_child: Factory, make_taskrun: Factory
) -> None:
    run = _one_child_run(make_run, make_child)
    child = make_taskrun(
        "apply",
        "TaskRunImagePullFailed",
        f'the step "fail" in TaskRun "{PR}-apply" failed to pull the image "". The pod errored'
        ' with the message: "Back-off pulling image "registry.example/app:v1"."',
        steps=[
            {
                "name": "fail",
                "terminationReason": "TaskRunImagePullFailed",
                "terminated": {"exitCode": 1, "reason": "TaskRunImagePullFailed"},
            }
        ],
    )
    assert classify_failure(run, [child]) == FailureReason.IMAGE_PULL_BACK_OFF


@pytest.mark.parametrize("waiting", ["ErrImagePull", "ImagePullBackOff", "InvalidImageName"])
def test_rule4_step_waiting_on_image(
    make_run: Factory, make_child: Factory, make_taskrun: Factory, waiting: str
) -> None:
    run = _one_child_run(make_run, make_child)
    child = make_taskrun(
        "apply",
        "Failed",
        "x",
        steps=[{"name": "s", "waiting": {"reason": waiting, "message": "m"}}],
    )
    assert classify_failure(run, [child]) == FailureReason.IMAGE_PULL_BACK_OFF


@pytest.mark.parametrize(
    ("reason", "message", "expected"),
    [
        (
            "PodAdmissionFailed",
            'pods "x" is forbidden: violates PodSecurity "restricted:latest"',
            FailureReason.FORBIDDEN,
        ),
        (
            "PodCreationFailed",
            f'failed to create task run pod "{PR}-apply": pods "p" is forbidden:'
            " error looking up service account ns/runner. Maybe missing or invalid Task ns/t",
            FailureReason.FORBIDDEN,
        ),
        (
            "CreateContainerConfigError",
            "Failed to create pod due to config error",
            FailureReason.CONFIGURATION_ERROR,
        ),
    ],
)
def test_rule5_and_6_taskrun_reasons(
    make_run: Factory,
    make_child: Factory,
    make_taskrun: Factory,
    *,
    reason: str,
    message: str,
    expected: FailureReason,
) -> None:
    run = _one_child_run(make_run, make_child)
    child = make_taskrun("apply", reason, message, pod=False)
    assert classify_failure(run, [child]) == expected


def test_pod_creation_failed_without_forbidden_falls_to_task_failed(
    make_run: Factory, make_child: Factory, make_taskrun: Factory
) -> None:
    run = _one_child_run(make_run, make_child)
    child = make_taskrun(
        "apply", "PodCreationFailed", "failed quota: must specify limits", pod=False
    )
    assert classify_failure(run, [child]) == FailureReason.TASK_FAILED


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        (
            "CouldntGetPipeline",
            "Error retrieving pipeline for pipelinerun ns/pr: resolver failed to"
            ' get Pipeline : error requesting remote resource: error getting "bundleresolver"'
            ' "ns/bundles-0123": cannot retrieve the oci image: MANIFEST_UNKNOWN',
        ),
        (
            "CouldntGetPipeline",
            "Error retrieving pipeline for pipelinerun ns/pr: resolver failed to"
            " get Pipeline : resolution took longer than global timeout of 1m0s",
        ),
        ("CouldntGetTask", "Pipeline /workflow can't be Run; it contains Tasks that don't exist"),
        (
            "ParameterMissing",
            "[User error] PipelineRun ns/pr is missing some parameters required"
            " by Pipeline ns/workflow: pipelineRun missing parameters: [X]",
        ),
        ("ParameterTypeMismatch", "[User error] parameters have mismatching types"),
        ("InvalidParamValue", "[User error] PipelineRun ns/pr parameters have invalid value: x"),
        ("PipelineValidationFailed", "[User error] Validation failed for pipelinerun pr"),
        ("PipelineInvalidGraph", "[User error] PipelineRun ns/pr's Pipeline DAG is invalid: cycle"),
        ("InvalidWorkspaceBindings", "PipelineRun ns/pr doesn't bind Pipeline's Workspaces"),
        ("CreateRunFailed", "admission webhook denied the request: timed out"),
    ],
)
def test_rule6_configuration_reasons_before_keywords(
    make_run: Factory, reason: str, message: str
) -> None:
    assert classify_failure(make_run(reason, message)) == FailureReason.CONFIGURATION_ERROR


def test_rule7_failed_is_task_failed(
    failed_run: dict[str, Any], failed_taskrun: dict[str, Any], prepare_taskrun: dict[str, Any]
) -> None:
    assert (
        classify_failure(failed_run, [prepare_taskrun, failed_taskrun]) == FailureReason.TASK_FAILED
    )


def test_rule7_failed_without_readable_taskruns(failed_run: dict[str, Any]) -> None:
    assert classify_failure(failed_run) == FailureReason.TASK_FAILED


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("the container was OOMKilled", FailureReason.OOM_KILLED),
        ("process ran out of memory", FailureReason.OOM_KILLED),
        ("request timed out", FailureReason.DEADLINE_EXCEEDED),
        ("deadline reached", FailureReason.DEADLINE_EXCEEDED),
        ("access Forbidden by policy", FailureReason.FORBIDDEN),
        ("rbac says no", FailureReason.FORBIDDEN),
        ("open /x: permission denied", FailureReason.FORBIDDEN),
        ("exceeded quota: compute", FailureReason.RESOURCE_EXHAUSTED),
        ("ErrImagePull happened", FailureReason.IMAGE_PULL_BACK_OFF),
        ("failed to pull the image", FailureReason.IMAGE_PULL_BACK_OFF),
        ("invalid spec", FailureReason.CONFIGURATION_ERROR),
        ("validation error", FailureReason.CONFIGURATION_ERROR),
        ("the roomba broke", FailureReason.UNKNOWN),
        ("timeout-check said deadlines", FailureReason.UNKNOWN),
        ("invalidated cache", FailureReason.UNKNOWN),
        ("", FailureReason.UNKNOWN),
    ],
)
def test_rule8_whole_word_keywords_then_rule9(
    make_run: Factory, message: str, expected: FailureReason
) -> None:
    assert classify_failure(make_run("SomethingElse", message)) == expected


def test_rule9_cancelled_is_unknown(make_run: Factory) -> None:
    assert classify_failure(make_run("Cancelled", f'PipelineRun "{PR}" was cancelled')) == (
        FailureReason.UNKNOWN
    )


def test_empty_input_is_unknown() -> None:
    assert classify_failure({}) == FailureReason.UNKNOWN
    assert classify_failure({"status": {}}, [], None) == FailureReason.UNKNOWN


def test_oom_beats_timeout_and_quota(
    timeout_run: dict[str, Any], oom_taskrun: dict[str, Any]
) -> None:
    assert classify_failure(timeout_run, [oom_taskrun], "ExceededResourceQuota") == (
        FailureReason.OOM_KILLED
    )


def test_taskruns_accepted_as_mapping(
    failed_run: dict[str, Any], oom_taskrun: dict[str, Any]
) -> None:
    assert classify_failure(failed_run, {f"{PR}-apply": oom_taskrun}) == FailureReason.OOM_KILLED


# --- failed task and step --------------------------------------------------------------------


def test_failed_task_first_failed_in_child_order(
    failed_run: dict[str, Any], failed_taskrun: dict[str, Any], prepare_taskrun: dict[str, Any]
) -> None:
    task = failed_task(failed_run, [failed_taskrun, prepare_taskrun])
    assert task is not None
    assert (task.index, task.pipeline_task_name) == (1, "apply")
    assert (task.step_name, task.exit_code) == ("apply", 1)


def test_failed_task_skips_missing_and_non_taskrun_children(
    make_run: Factory, make_child: Factory, make_taskrun: Factory
) -> None:
    run = make_run(
        "Failed",
        COUNTS,
        childReferences=[
            {
                "apiVersion": "tekton.dev/v1beta1",
                "kind": "CustomRun",
                "name": f"{PR}-custom",
                "pipelineTaskName": "custom",
            },
            make_child("missing"),
            make_child("second"),
            make_child("third"),
        ],
    )
    children = [
        make_taskrun("second", "Failed", "x"),
        make_taskrun("third", "Failed", "y"),
        make_taskrun("custom", "Failed", "not a taskrun"),
    ]
    task = failed_task(run, children)
    assert task is not None
    assert (task.index, task.pipeline_task_name) == (2, "second")


def test_failed_task_ignores_failure_ignored(
    make_run: Factory, make_child: Factory, make_taskrun: Factory
) -> None:
    run = make_run("Failed", COUNTS, childReferences=[make_child("a"), make_child("b")])
    task = failed_task(
        run, [make_taskrun("a", "FailureIgnored", "x"), make_taskrun("b", "Failed", "y")]
    )
    assert task is not None
    assert task.pipeline_task_name == "b"


def test_failed_task_falls_back_to_unfinished_child(
    timeout_run: dict[str, Any], make_taskrun: Factory
) -> None:
    task = failed_task(timeout_run, [make_taskrun("apply", "Running", "r", status="Unknown")])
    assert task is not None
    assert task.pipeline_task_name == "apply"


def test_failed_task_none_without_children(failed_run: dict[str, Any]) -> None:
    assert failed_task(failed_run, []) is None


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        (
            [
                {"name": "a", "terminated": {"exitCode": 0}},
                {
                    "name": "b",
                    "terminated": {"exitCode": 2, "reason": "Error"},
                    "terminationReason": "Error",
                },
                {
                    "name": "c",
                    "terminated": {"exitCode": 1, "reason": "Error"},
                    "terminationReason": "Skipped",
                },
            ],
            ("b", 2),
        ),
        (
            [
                {
                    "name": "a",
                    "terminated": {"exitCode": 1, "reason": "Error"},
                    "terminationReason": "Skipped",
                },
                {"name": "b", "terminated": {"exitCode": 3, "reason": "Error"}},
            ],
            ("b", 3),
        ),
        (
            [
                {
                    "name": "a",
                    "terminated": {"exitCode": 1, "reason": "TaskRunCancelled"},
                    "terminationReason": "TaskRunCancelled",
                }
            ],
            None,
        ),
        ([{"name": "a", "terminated": {"exitCode": 1, "reason": "TaskRunTimeout"}}], None),
        ([{"name": "a", "terminated": {"exitCode": 1, "reason": "TaskRunImagePullFailed"}}], None),
        ([{"name": "a", "terminated": {"exitCode": 137, "reason": "OOMKilled"}}], ("a", 137)),
        ([{"name": "a", "running": {"startedAt": "x"}}], None),
        ([], None),
    ],
)
def test_failed_step(steps: list[dict[str, Any]], expected: tuple[str, int] | None) -> None:
    assert failed_step({"status": {"steps": steps}}) == expected


# --- wasExecutionFailure ---------------------------------------------------------------------


def _run_with_children(make_run: Factory, make_child: Factory, n: int = 1) -> dict[str, Any]:
    return make_run("Failed", COUNTS, childReferences=[make_child(f"t{i}") for i in range(n)])


def test_was_execution_failure_table(
    make_run: Factory, make_child: Factory, make_taskrun: Factory
) -> None:
    run = _run_with_children(make_run, make_child)
    ran = make_taskrun(
        "t0",
        "Failed",
        "x",
        steps=[{"name": "s", "terminated": {"exitCode": 1, "reason": "Error", "startedAt": "t"}}],
    )
    no_pod = make_taskrun("t0", "PodAdmissionFailed", "x", pod=False)
    pod_only_waiting = make_taskrun(
        "t0", "Failed", "x", steps=[{"name": "s", "waiting": {"reason": "PodInitializing"}}]
    )
    pod_no_steps = make_taskrun("t0", "Failed", "x")
    cases = [
        (FailureReason.TASK_FAILED, run, [ran], True),
        (FailureReason.OOM_KILLED, run, [ran], True),
        (FailureReason.IMAGE_PULL_BACK_OFF, run, [ran], False),
        (FailureReason.CONFIGURATION_ERROR, run, [ran], False),
        (FailureReason.RESOURCE_EXHAUSTED, run, [ran], False),
        (FailureReason.DEDUPLICATED, run, [ran], False),
        (FailureReason.FORBIDDEN, run, [no_pod], False),
        (FailureReason.TASK_FAILED, make_run("Failed", COUNTS), [], False),
        (FailureReason.TASK_FAILED, run, [], True),
        (FailureReason.TASK_FAILED, run, [pod_only_waiting], False),
        (FailureReason.UNKNOWN, run, [pod_no_steps], True),
    ]
    for reason, document, taskruns, expected in cases:
        assert was_execution_failure(reason, document, taskruns) is expected, (reason, taskruns)


def test_cancelled_after_running_counts_as_execution(
    timeout_run: dict[str, Any], cancelled_taskrun: dict[str, Any]
) -> None:
    assert was_execution_failure(FailureReason.DEADLINE_EXCEEDED, timeout_run, [cancelled_taskrun])


# --- summary and details ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "fragment"),
    [
        (FailureReason.OOM_KILLED, "memory limit"),
        (FailureReason.FORBIDDEN, "RBAC permissions"),
        (FailureReason.DEADLINE_EXCEEDED, "timeout"),
        (FailureReason.IMAGE_PULL_BACK_OFF, "images"),
        (FailureReason.RESOURCE_EXHAUSTED, "ResourceQuota"),
        (FailureReason.CONFIGURATION_ERROR, "parameters"),
        (FailureReason.TASK_FAILED, "logs"),
        (FailureReason.DEDUPLICATED, "another execution"),
        (FailureReason.UNKNOWN, "Inspect"),
    ],
)
def test_natural_language_summary_per_reason(
    make_wfe: Factory, reason: FailureReason, fragment: str
) -> None:
    text = natural_language_summary(
        parse_wfe(make_wfe()),
        reason,
        "boom",
        ran_for="1m5s",
        task_name="apply",
        step_name="apply",
        exit_code=1,
    )
    lines = text.splitlines()
    assert lines[0] == "Workflow restart failed on target default/deployment/nginx."
    assert f"Reason: {reason.value}." in lines
    assert "Error: boom" in lines
    assert "Failed task: apply, step apply, exit code 1." in lines
    assert "It ran for 1m5s before failing." in lines
    assert lines[-1].startswith("Recommendation: ")
    assert fragment in lines[-1]


def test_summary_when_never_started(make_wfe: Factory) -> None:
    text = natural_language_summary(parse_wfe(make_wfe()), FailureReason.CONFIGURATION_ERROR, "")
    assert "It never started running." in text


def test_failure_details_for_failed_document(
    make_wfe: Factory,
    failed_run: dict[str, Any],
    failed_taskrun: dict[str, Any],
    prepare_taskrun: dict[str, Any],
) -> None:
    wfe = parse_wfe(make_wfe(phase="Running", status={"startTime": "2025-06-01T10:00:00Z"}))
    details = failure_details(wfe, failed_run, [prepare_taskrun, failed_taskrun], NOW)
    assert details.reason == FailureReason.TASK_FAILED
    assert (details.failed_task_index, details.failed_task_name) == (1, "apply")
    assert (details.failed_step_name, details.exit_code) == ("apply", 1)
    assert details.failed_at == datetime(2025, 6, 1, 10, 1, 5, tzinfo=UTC)
    assert details.execution_time_before_failure == "1m5s"
    assert details.was_execution_failure is True
    # The run's message and the failed step's, once each, in that order.
    assert details.message == (
        'Tasks Completed: 2 (Failed: 1, Cancelled 0), Skipped: 1; "step-apply" exited with code'
        " 1: Error"
    )
    assert details.natural_language_summary.splitlines() == [
        "Workflow restart failed on target default/deployment/nginx.",
        "Reason: TaskFailed.",
        f"Error: {details.message}",
        "Failed task: apply, step apply, exit code 1.",
        "It ran for 1m5s before failing.",
        "Recommendation: Read the logs of the failed step to see why it exited non-zero.",
    ]
    assert set(details.to_api()) >= {
        "failedTaskIndex",
        "failedTaskName",
        "reason",
        "message",
        "failedAt",
        "executionTimeBeforeFailure",
        "naturalLanguageSummary",
    }


def test_failure_details_quota_uses_kept_blocked_reason(
    make_wfe: Factory, timeout_run: dict[str, Any], make_taskrun: Factory
) -> None:
    wfe = parse_wfe(make_wfe(phase="Running"))
    wfe = wfe.model_copy(
        update={
            "status": wfe.status.model_copy(
                update={
                    "pipeline_run_status": PipelineRunSummary(
                        blocked_reason="ExceededResourceQuota", blocked_message=QUOTA
                    )
                }
            )
        }
    )
    cancelled = make_taskrun("apply", "TaskRunCancelled", "cancelled", pod=False)
    details = failure_details(wfe, timeout_run, [cancelled], NOW)
    assert details.reason == FailureReason.RESOURCE_EXHAUSTED
    assert details.was_execution_failure is False
    assert "exceeded quota" in details.message
    assert details.execution_time_before_failure == "30m1s"


def test_failure_details_message_truncated(make_wfe: Factory, make_run: Factory) -> None:
    run = make_run("Weird", "x" * 10000)
    details = failure_details(parse_wfe(make_wfe()), run, [], NOW)
    assert len(details.message) == 4096
    assert details.execution_time_before_failure == "1m0s"


def test_failure_details_without_times_uses_now(make_wfe: Factory) -> None:
    run = {
        "status": {
            "conditions": [
                {
                    "type": "Succeeded",
                    "status": "False",
                    "reason": "Cancelled",
                    "message": "cancelled",
                }
            ]
        }
    }
    details = failure_details(parse_wfe(make_wfe()), copy.deepcopy(run), [], NOW)
    assert details.failed_at == NOW
    assert details.execution_time_before_failure == ""
    assert details.reason == FailureReason.UNKNOWN


@pytest.mark.parametrize(
    ("reason", "condition_reason"),
    [
        (FailureReason.TASK_FAILED, ConditionReason.TASK_FAILED),
        (FailureReason.DEADLINE_EXCEEDED, ConditionReason.DEADLINE_EXCEEDED),
        (FailureReason.OOM_KILLED, ConditionReason.OOM_KILLED),
        (FailureReason.CONFIGURATION_ERROR, ConditionReason.PIPELINE_FAILED),
        (FailureReason.UNKNOWN, ConditionReason.PIPELINE_FAILED),
    ],
)
def test_pipeline_complete_reason(reason: FailureReason, condition_reason: ConditionReason) -> None:
    assert pipeline_complete_reason(reason) == condition_reason


def test_a_failure_without_a_failed_run_names_no_task_and_says_how_long_it_ran(
    make_wfe: Factory,
) -> None:
    wfe = parse_wfe(make_wfe(phase="Running"))
    details = preexecution_failure(
        wfe, FailureReason.UNKNOWN, "deleted by someone", NOW, was_execution=True, ran_for="2m0s"
    )
    assert (details.failed_task_index, details.failed_task_name) == (0, "")
    assert (details.failed_at, details.execution_time_before_failure) == (NOW, "2m0s")
    assert details.was_execution_failure is True
    assert details.natural_language_summary.splitlines()[2:4] == [
        "Error: deleted by someone",
        "It ran for 2m0s before failing.",
    ]


@pytest.mark.parametrize("reason", list(FailureReason))
def test_every_failure_reason_has_a_summary_with_a_recommendation(reason: FailureReason) -> None:
    wfe = parse_wfe(make_wfe_raw())
    summary = natural_language_summary(wfe, reason, "boom")
    assert summary.splitlines()[-1].startswith("Recommendation: ")
