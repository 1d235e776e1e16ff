"""Every simulated outcome: the order of writes, the verbatim texts, and CRD validity."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema
import pytest

from kubernaut_wfe_tools.tekton_simulator.samples import (
    FAILING_BUNDLE,
    HELLO_WORLD_BUNDLE,
    sample_pipelinerun,
)
from kubernaut_wfe_tools.tekton_simulator.scenario import read_scenario
from kubernaut_wfe_tools.tekton_simulator.timeline import (
    DEFAULT_PACING,
    Pacing,
    Write,
    WriteKind,
    build_timeline,
    pending_writes,
)

T0 = datetime(2025, 6, 1, 10, 0, 0, tzinfo=UTC)
PR = "wfe-f3457dcc8fbcb6d9"
NS = "kubernaut-workflows"
TR = f"{PR}-fail-task"
POD = f"{TR}-pod"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
Replay = Callable[[Mapping[str, Any], Iterable[Write]], list[tuple[Write, dict[str, Any]]]]
Validate = Callable[[Mapping[str, Any]], None]

LABELS, PR_STATUS = WriteKind.PIPELINERUN_LABELS, WriteKind.PIPELINERUN_STATUS
CREATE, TR_STATUS, TR_SPEC = (
    WriteKind.TASKRUN_CREATE,
    WriteKind.TASKRUN_STATUS,
    WriteKind.TASKRUN_SPEC,
)
START = [(LABELS, None, 0), (PR_STATUS, ("Unknown", "ResolvingPipelineRef"), 0)]
RUNNING = [
    (CREATE, None, 1),
    (PR_STATUS, ("Unknown", "Running"), 1),
    (TR_STATUS, ("Unknown", "Pending"), 1),
]
STEP_RUNNING = [(TR_STATUS, ("Unknown", "Running"), 2)]

# mode -> [(write kind, (condition status, reason) or None, seconds after start)];
# DELAY_SECONDS is 2 and spec.timeouts.pipeline is 30s throughout.
SEQUENCES: dict[str, list[tuple[WriteKind, tuple[str, str] | None, int]]] = {
    "succeed": [
        *START,
        *RUNNING,
        *STEP_RUNNING,
        (TR_STATUS, ("True", "Succeeded"), 4),
        (PR_STATUS, ("True", "Succeeded"), 4),
    ],
    "exit": [
        *START,
        *RUNNING,
        *STEP_RUNNING,
        (TR_STATUS, ("False", "Failed"), 4),
        (PR_STATUS, ("False", "Failed"), 4),
    ],
    "oom": [
        *START,
        *RUNNING,
        *STEP_RUNNING,
        (TR_STATUS, ("False", "Failed"), 4),
        (PR_STATUS, ("False", "Failed"), 4),
    ],
    "timeout": [
        *START,
        *RUNNING,
        *STEP_RUNNING,
        (TR_SPEC, None, 30),
        (PR_STATUS, ("False", "PipelineRunTimeout"), 30),
        (TR_STATUS, ("False", "TaskRunCancelled"), 31),
    ],
    "tasktimeout": [
        *START,
        *RUNNING,
        *STEP_RUNNING,
        (TR_STATUS, ("False", "TaskRunTimeout"), 4),
        (PR_STATUS, ("False", "Failed"), 4),
    ],
    "imagepull": [
        *START,
        *RUNNING,
        (TR_STATUS, ("Unknown", "PullImageFailed"), 2),
        (TR_STATUS, ("False", "TaskRunImagePullFailed"), 4),
        (PR_STATUS, ("False", "Failed"), 4),
    ],
    "forbidden": [
        *START,
        *RUNNING[:2],
        (TR_STATUS, ("False", "PodAdmissionFailed"), 1),
        (PR_STATUS, ("False", "Failed"), 1),
    ],
    "quota": [
        *START,
        *RUNNING[:2],
        (TR_STATUS, ("Unknown", "ExceededResourceQuota"), 1),
        (TR_SPEC, None, 30),
        (PR_STATUS, ("False", "PipelineRunTimeout"), 30),
        (TR_STATUS, ("False", "TaskRunCancelled"), 31),
    ],
    "invalid": [*START, (PR_STATUS, ("False", "ParameterMissing"), 3)],
    "missing": [*START, (PR_STATUS, ("False", "CouldntGetPipeline"), 3)],
}

FAILED_COUNTS = "Tasks Completed: 1 (Failed: 1, Cancelled 0), Skipped: 0"
TIMED_OUT = f'PipelineRun "{PR}" failed to finish within "30s"'
CANCELLED = (
    f'TaskRun "{TR}" was cancelled. '
    "TaskRun cancelled as the PipelineRun it belongs to has timed out."
)
# mode -> (final PipelineRun message, final TaskRun message or None)
FINAL_MESSAGES: dict[str, tuple[str, str | None]] = {
    "succeed": (
        "Tasks Completed: 1 (Failed: 0, Cancelled 0), Skipped: 0",
        "All Steps have completed executing",
    ),
    "exit": (FAILED_COUNTS, '"step-fail" exited with code 1: Error'),
    "oom": (FAILED_COUNTS, '"step-fail" exited with code 137: OOMKilled'),
    "timeout": (TIMED_OUT, CANCELLED),
    "tasktimeout": (FAILED_COUNTS, f'TaskRun "{TR}" failed to finish within "3s"'),
    "imagepull": (
        FAILED_COUNTS,
        f'the step "fail" in TaskRun "{TR}" failed to pull the image "". The pod errored with the '
        'message: "Back-off pulling image "quay.io/kubernaut-test/does-not-exist:v1"."',
    ),
    "forbidden": (
        FAILED_COUNTS,
        f'pods "{POD}" is forbidden: violates PodSecurity "restricted:latest": privileged '
        '(container "step-fail" must not set securityContext.privileged=true)',
    ),
    "quota": (TIMED_OUT, CANCELLED),
    "invalid": (
        f"[User error] PipelineRun {NS}/{PR} is missing some parameters required by Pipeline "
        f"{NS}/workflow: pipelineRun missing parameters: [REQUIRED_PARAM]",
        None,
    ),
    "missing": (
        f"Error retrieving pipeline for pipelinerun {NS}/{PR}: resolver failed to get Pipeline : "
        f'error requesting remote resource: error getting "bundleresolver" "{NS}/bundles-'
        "{hex32}"
        '": cannot retrieve the oci image: GET https://quay.io/v2/kubernaut-test/failing/manifests/'
        "v1.0.0: MANIFEST_UNKNOWN: manifest unknown; map[Tag:v1.0.0]",
        None,
    ),
}


def _run(mode: str, **overrides: Any) -> dict[str, Any]:
    bundle = HELLO_WORLD_BUNDLE if mode == "succeed" else FAILING_BUNDLE
    params = {"FAILURE_MODE": mode, **overrides.pop("params", {})}
    return sample_pipelinerun(bundle=bundle, params=params, timeout=overrides.pop("timeout", "30s"))


def _timeline(run: Mapping[str, Any], pacing: Pacing = DEFAULT_PACING) -> list[Write]:
    return build_timeline(read_scenario(run, start_lag=pacing.pod_start), T0, pacing)


def _condition(status: Mapping[str, Any]) -> dict[str, Any]:
    (condition,) = status["conditions"]
    assert condition["type"] == "Succeeded"
    return dict(condition)


def _final(writes: list[Write], kind: WriteKind) -> Mapping[str, Any] | None:
    documents = [w.document for w in writes if w.kind is kind]
    return documents[-1] if documents else None


@pytest.mark.parametrize("mode", SEQUENCES)
def test_order_of_writes(mode: str) -> None:
    writes = _timeline(_run(mode))
    observed = [
        (
            w.kind,
            (_condition(w.document)["status"], _condition(w.document)["reason"])
            if w.kind in {PR_STATUS, TR_STATUS}
            else None,
            int((w.due - T0).total_seconds()),
        )
        for w in writes
    ]
    assert observed == SEQUENCES[mode]


@pytest.mark.parametrize("mode", FINAL_MESSAGES)
def test_final_messages_are_verbatim(mode: str) -> None:
    writes = _timeline(_run(mode))
    pr_message, tr_message = FINAL_MESSAGES[mode]
    pipelinerun = _final(writes, PR_STATUS)
    assert pipelinerun is not None
    pattern = re.escape(pr_message).replace(re.escape("{hex32}"), "[0-9a-f]{32}")
    assert re.fullmatch(pattern, _condition(pipelinerun)["message"])
    taskrun = _final(writes, TR_STATUS)
    if tr_message is None:
        assert taskrun is None
        assert not [w for w in writes if w.kind is CREATE]
    else:
        assert taskrun is not None
        assert _condition(taskrun)["message"] == tr_message


@pytest.mark.parametrize("mode", SEQUENCES)
def test_every_written_object_fits_the_tekton_crd(
    mode: str, crd_validators: dict[str, Validate], replayer: Replay
) -> None:
    run = _run(mode)
    snapshots = replayer(run, _timeline(run))
    assert snapshots
    for write, obj in snapshots:
        try:
            crd_validators[obj["kind"]](obj)
        except jsonschema.ValidationError as error:  # pragma: no cover - the failure message
            pytest.fail(
                f"{mode}: {write.kind} {obj['kind']} invalid at {error.json_path}: {error.message}"
            )


def test_the_schema_check_catches_unknown_and_mistyped_fields(
    crd_validators: dict[str, Validate],
) -> None:
    run = _run("exit")
    run["status"] = {"podName": "", "conditons": []}
    with pytest.raises(jsonschema.ValidationError):
        crd_validators["PipelineRun"](run)
    taskrun = {
        "apiVersion": "tekton.dev/v1",
        "kind": "TaskRun",
        "metadata": {},
        "status": {"steps": [{"terminated": {"exitCode": "1"}}]},
    }
    with pytest.raises(jsonschema.ValidationError):
        crd_validators["TaskRun"](taskrun)


@pytest.mark.parametrize("mode", SEQUENCES)
def test_status_invariants(mode: str) -> None:
    writes = _timeline(_run(mode))
    for write in writes:
        if write.kind not in {PR_STATUS, TR_STATUS}:
            continue
        status = write.document
        condition = _condition(status)
        assert condition["lastTransitionTime"] == write.due.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert "severity" not in condition
        assert "observedGeneration" not in status
        for key in ("startTime", "completionTime", "lastTransitionTime"):
            value = status.get(key, condition.get(key))
            assert value is None or TIMESTAMP.match(value)
        if condition["status"] != "Unknown":
            assert status["completionTime"] == condition["lastTransitionTime"]
        else:
            assert "completionTime" not in status
    pipelinerun = _final(writes, PR_STATUS)
    assert pipelinerun is not None
    assert pipelinerun["startTime"] == "2025-06-01T10:00:00Z"


@pytest.mark.parametrize("mode", [m for m in SEQUENCES if m not in {"invalid", "missing"}])
def test_running_pipelinerun_lists_its_child_and_provenance(mode: str) -> None:
    writes = _timeline(_run(mode))
    running = next(
        w.document
        for w in writes
        if w.kind is PR_STATUS and _condition(w.document)["reason"] == "Running"
    )
    task = "hello" if mode == "succeed" else "fail-task"
    child = {
        "apiVersion": "tekton.dev/v1",
        "kind": "TaskRun",
        "name": f"{PR}-{task}",
        "pipelineTaskName": task,
    }
    assert running["childReferences"] == [child]
    assert (
        _condition(running)["message"]
        == "Tasks Completed: 0 (Failed: 0, Cancelled 0), Incomplete: 1, Skipped: 0"
    )
    assert [t["name"] for t in running["pipelineSpec"]["tasks"]] == [task]
    ref = running["provenance"]["refSource"]
    assert ref["entryPoint"] == "workflow"
    assert ref["uri"] == (
        "quay.io/kubernaut-test/hello-world"
        if mode == "succeed"
        else "quay.io/kubernaut-test/failing"
    )
    assert re.fullmatch("[0-9a-f]{64}", ref["digest"]["sha256"])
    final = _final(writes, PR_STATUS)
    assert final is not None
    assert final["childReferences"] == [child]
    assert final["pipelineSpec"] == running["pipelineSpec"]


def test_label_and_resolving_status_come_first() -> None:
    labels, resolving = _timeline(_run("exit"))[:2]
    assert labels.document == {"tekton.dev/pipeline": "workflow"}
    assert resolving.document == {
        "startTime": "2025-06-01T10:00:00Z",
        "conditions": [
            {
                "type": "Succeeded",
                "status": "Unknown",
                "reason": "ResolvingPipelineRef",
                "message": f"PipelineRun {NS}/{PR} awaiting remote resource",
                "lastTransitionTime": "2025-06-01T10:00:00Z",
            }
        ],
    }


def test_unresolvable_bundles_store_no_pipeline_spec() -> None:
    for run in (_run("missing"), sample_pipelinerun(bundle="quay.io/acme/restart:v1")):
        final = _final(_timeline(run), PR_STATUS)
        assert final is not None
        assert _condition(final)["reason"] == "CouldntGetPipeline"
        assert not {"pipelineSpec", "childReferences", "provenance"} & final.keys()


def test_invalid_params_store_the_pipeline_spec_but_create_no_taskrun() -> None:
    final = _final(_timeline(_run("invalid")), PR_STATUS)
    assert final is not None
    assert "childReferences" not in final
    declared = {p["name"]: p for p in final["pipelineSpec"]["params"]}
    assert "default" not in declared["REQUIRED_PARAM"]


def _steps(writes: list[Write]) -> list[list[dict[str, Any]]]:
    return [list(w.document.get("steps", [])) for w in writes if w.kind is TR_STATUS]


def test_success_step_completes() -> None:
    (step,) = _steps(_timeline(_run("succeed")))[-1]
    assert step["name"] == "echo"
    assert step["container"] == "step-echo"
    assert step["terminationReason"] == "Completed"
    terminated = step["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (0, "Completed")
    assert terminated["startedAt"] == "2025-06-01T10:00:02Z"
    assert terminated["finishedAt"] == "2025-06-01T10:00:04Z"
    assert terminated["containerID"].startswith("containerd://")


@pytest.mark.parametrize(
    ("mode", "exit_code", "reason", "termination_reason"),
    [("exit", 1, "Error", "Error"), ("oom", 137, "OOMKilled", None)],
)
def test_process_exits_keep_the_kubelet_reason(
    mode: str, exit_code: int, reason: str, termination_reason: str | None
) -> None:
    writes = _timeline(_run(mode))
    (step,) = _steps(writes)[-1]
    assert (step["terminated"]["exitCode"], step["terminated"]["reason"]) == (exit_code, reason)
    assert step.get("terminationReason") == termination_reason
    assert "message" not in step["terminated"]
    final = _final(writes, TR_STATUS)
    assert final is not None
    assert final["artifacts"] == {}


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("timeout", "TaskRunCancelled"),
        ("tasktimeout", "TaskRunTimeout"),
        ("imagepull", "TaskRunImagePullFailed"),
    ],
)
def test_tekton_failures_rewrite_steps_with_synthetic_exit_code_one(mode: str, reason: str) -> None:
    (step,) = _steps(_timeline(_run(mode)))[-1]
    assert step["terminationReason"] == reason
    terminated = step["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (1, reason)
    assert terminated["message"] == f"Step fail terminated as pod {POD} is terminated"
    assert ("startedAt" in terminated) is (mode != "imagepull")


def test_image_pull_waits_with_err_image_pull_first() -> None:
    writes = _timeline(_run("imagepull"))
    pulling = next(
        w.document
        for w in writes
        if w.kind is TR_STATUS and _condition(w.document)["reason"] == "PullImageFailed"
    )
    (step,) = pulling["steps"]
    assert step["waiting"]["reason"] == "ErrImagePull"
    assert "imageID" not in step
    assert _condition(pulling)["message"] == (
        'build step "step-fail" is pending with reason "rpc error: code = NotFound desc = '
        'failed to pull and unpack image \\"quay.io/kubernaut-test/does-not-exist:v1\\": '
        'failed to resolve reference \\"quay.io/kubernaut-test/does-not-exist:v1\\": '
        'quay.io/kubernaut-test/does-not-exist:v1: not found"'
    )


@pytest.mark.parametrize(
    ("mode", "pod", "has_start"),
    [
        ("exit", POD, True),
        ("imagepull", POD, True),
        ("forbidden", "", True),
        ("quota", "", False),
        ("timeout", POD, True),
    ],
)
def test_pod_name_and_start_time_rules(mode: str, pod: str, has_start: bool) -> None:
    for write in _timeline(_run(mode)):
        if write.kind is TR_STATUS:
            assert write.document["podName"] == pod
            assert ("startTime" in write.document) is has_start
    final = _final(_timeline(_run(mode)), TR_STATUS)
    assert final is not None
    if not pod:
        assert "steps" not in final


@pytest.mark.parametrize("mode", ["timeout", "quota"])
def test_pipeline_timeout_cancels_the_child_through_its_spec(mode: str) -> None:
    writes = _timeline(_run(mode))
    (spec,) = [w for w in writes if w.kind is TR_SPEC]
    assert spec.name == TR
    assert spec.document == {
        "status": "TaskRunCancelled",
        "statusMessage": "TaskRun cancelled as the PipelineRun it belongs to has timed out.",
    }


def test_pipeline_timeout_uses_go_duration_text() -> None:
    final = _final(_timeline(_run("timeout", timeout="1h")), PR_STATUS)
    assert final is not None
    assert _condition(final)["message"] == f'PipelineRun "{PR}" failed to finish within "1h0m0s"'
    assert final["completionTime"] == "2025-06-01T11:00:00Z"


def test_default_pipeline_timeout_is_an_hour() -> None:
    run = _run("timeout")
    del run["spec"]["timeouts"]
    final = _final(_timeline(run), PR_STATUS)
    assert final is not None
    assert _condition(final)["message"].endswith('within "1h0m0s"')


def test_zero_pipeline_timeout_never_ends_a_hanging_run() -> None:
    writes = _timeline(_run("timeout", timeout="0"))
    assert [w.kind for w in writes][-1] is TR_STATUS
    assert _condition(writes[-1].document)["reason"] == "Running"


def test_slow_success_is_cut_by_the_pipeline_timeout() -> None:
    writes = _timeline(_run("succeed", params={"DELAY_SECONDS": "20"}, timeout="5s"))
    final = _final(writes, PR_STATUS)
    assert final is not None
    assert _condition(final)["reason"] == "PipelineRunTimeout"
    assert not [
        w for w in writes if w.kind is TR_STATUS and _condition(w.document)["status"] == "True"
    ]


def test_timeout_before_resolution_has_no_child() -> None:
    writes = _timeline(_run("exit", timeout="500ms"))
    assert [w.kind for w in writes] == [LABELS, PR_STATUS, PR_STATUS]
    final = writes[-1].document
    assert _condition(final)["message"] == f'PipelineRun "{PR}" failed to finish within "500ms"'
    assert "childReferences" not in final


def test_run_that_finishes_in_time_is_not_timed_out() -> None:
    cut = _timeline(_run("exit", params={"DELAY_SECONDS": "0"}, timeout="2s"))
    assert _condition(cut[-2].document)["reason"] == "PipelineRunTimeout"
    # Step ends at +2s; a run still going at the deadline itself is timed out.
    writes = _timeline(_run("exit", params={"DELAY_SECONDS": "0"}, timeout="3s"))
    assert _condition(writes[-1].document)["reason"] == "Failed"


def test_pacing_moves_the_phases() -> None:
    pacing = Pacing(resolution=timedelta(0), pod_start=timedelta(0), cancellation=timedelta(0))
    writes = _timeline(_run("exit", params={"DELAY_SECONDS": "0"}), pacing)
    assert {w.due for w in writes} == {T0}


def _state_after(
    run: Mapping[str, Any], writes: list[Write], replayer: Replay
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    pipelinerun, taskruns = copy.deepcopy(dict(run)), {}
    for _, obj in replayer(run, writes):
        if obj["kind"] == "PipelineRun":
            pipelinerun = obj
        else:
            taskruns[obj["metadata"]["name"]] = obj
    return pipelinerun, taskruns


@pytest.mark.parametrize("mode", SEQUENCES)
def test_a_restart_resumes_after_the_last_visible_write(mode: str, replayer: Replay) -> None:
    run = _run(mode)
    timeline = _timeline(run)
    for done in range(len(timeline) + 1):
        pipelinerun, taskruns = _state_after(run, timeline[:done], replayer)
        assert pending_writes(timeline, pipelinerun, taskruns) == timeline[done:], done
