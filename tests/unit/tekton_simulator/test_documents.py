from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from kubernaut_wfe.constants import ConditionStatus, TektonReason
from kubernaut_wfe_tools.tekton_simulator import documents as docs
from kubernaut_wfe_tools.tekton_simulator.messages import go_quote
from kubernaut_wfe_tools.tekton_simulator.samples import FAILING_BUNDLE, sample_pipelinerun
from kubernaut_wfe_tools.tekton_simulator.scenario import read_scenario

T0 = datetime(2025, 6, 1, 10, 0, 0, tzinfo=UTC)
LAG = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("pipelinerun", "task", "expected"),
    [
        ("wfe-f3457dcc8fbcb6d9", "hello", "wfe-f3457dcc8fbcb6d9-hello"),
        ("wfe-f3457dcc8fbcb6d9", "fail-task", "wfe-f3457dcc8fbcb6d9-fail-task"),
        ("p" * 57, "hello", "p" * 57 + "-hello"),  # exactly 63: kept
        (
            "p" * 58,
            "hello",
            "p" * 25 + "35164bf5fe7bbd88a38504bccd2f2833-hello",
        ),
        (
            "a-very-long-pipelinerun-name-created-by-someone-for-testing-names",
            "fail-task",
            "a-very-long-pipeliner467fc4eced2bdb66ad6e8494d5b6651f-fail-task",
        ),
    ],
)
def test_taskrun_name_follows_the_md5_truncation_rule(
    pipelinerun: str, task: str, expected: str
) -> None:
    name = docs.taskrun_name(pipelinerun, task)
    assert name == expected
    assert len(name) <= 63


@pytest.mark.parametrize(
    ("task", "expected"),
    [
        # "-<pt>" of 31+ characters: MD5 of "<pr>-<pt>", then the suffix's start up to 63.
        (
            "verify-that-the-deployment-has-rolled-out-fully",
            "wfe-f3457dcc8fbcb6d9f41d20aa369ad2438530ef13ef9bf0e2-verify-tha",
        ),
        # ... and a name may not end on "-".
        (
            "abcdefghi-" + "z" * 40,
            "wfe-f3457dcc8fbcb6d9{md5}-abcdefghi",
        ),
    ],
)
def test_taskrun_name_for_a_long_pipeline_task_name(task: str, expected: str) -> None:
    md5 = hashlib.md5(f"wfe-f3457dcc8fbcb6d9-{task}".encode(), usedforsecurity=False).hexdigest()
    name = docs.taskrun_name("wfe-f3457dcc8fbcb6d9", task)
    assert name == expected.format(md5=md5)
    assert len(name) <= 63


def test_taskrun_object_carries_labels_owner_and_spec() -> None:
    run = sample_pipelinerun(bundle=FAILING_BUNDLE)
    run["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = "{}"
    scenario = read_scenario(run, start_lag=LAG)
    taskrun = docs.taskrun_object(scenario)
    assert taskrun["apiVersion"] == "tekton.dev/v1"
    assert taskrun["kind"] == "TaskRun"
    metadata = taskrun["metadata"]
    assert metadata["name"] == "wfe-f3457dcc8fbcb6d9-fail-task"
    assert metadata["namespace"] == "kubernaut-workflows"
    assert metadata["labels"] == {
        **run["metadata"]["labels"],
        "tekton.dev/pipeline": "workflow",
        "tekton.dev/pipelineRun": "wfe-f3457dcc8fbcb6d9",
        "tekton.dev/pipelineRunUID": "0b6c5c1e-0000-4000-8000-000000000001",
        "tekton.dev/pipelineTask": "fail-task",
        "tekton.dev/memberOf": "tasks",
        "app.kubernetes.io/managed-by": "tekton-pipelines",
    }
    assert "kubectl.kubernetes.io/last-applied-configuration" not in metadata["annotations"]
    assert metadata["annotations"]["kubernaut.ai/workflow-execution"] == "default/restart-nginx"
    assert metadata["ownerReferences"] == [
        {
            "apiVersion": "tekton.dev/v1",
            "kind": "PipelineRun",
            "name": "wfe-f3457dcc8fbcb6d9",
            "uid": "0b6c5c1e-0000-4000-8000-000000000001",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    spec = taskrun["spec"]
    assert spec["timeout"] == "1h0m0s"
    assert spec["serviceAccountName"] == "kubernaut-workflow-runner"
    assert spec["podTemplate"] == run["spec"]["taskRunTemplate"]["podTemplate"]
    assert [step["name"] for step in spec["taskSpec"]["steps"]] == ["fail"]
    assert "status" not in taskrun


def test_taskrun_service_account_defaults_to_default() -> None:
    run = sample_pipelinerun()
    del run["spec"]["taskRunTemplate"]
    taskrun = docs.taskrun_object(read_scenario(run, start_lag=LAG))
    assert taskrun["spec"]["serviceAccountName"] == "default"
    assert "podTemplate" not in taskrun["spec"]


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("wfe-1", '"wfe-1"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("a\\b", '"a\\\\b"'),
        ("line\nnext\t\x01", '"line\\nnext\\t\\x01"'),
    ],
)
def test_go_quote_matches_percent_q(text: str, quoted: str) -> None:
    assert go_quote(text) == quoted


def test_failing_by_tekton_keeps_finished_steps_and_rewrites_waiting_ones() -> None:
    previous = {
        "podName": "tr-pod",
        "steps": [
            {
                "name": "a",
                "container": "step-a",
                "terminated": {"exitCode": 0, "reason": "Completed"},
            },
            {"name": "b", "container": "step-b", "running": {"startedAt": "2025-06-01T10:00:01Z"}},
            {"name": "c", "container": "step-c", "waiting": {"reason": "PodInitializing"}},
        ],
    }
    status = docs.taskrun_failed_by_tekton(previous, TektonReason.TASK_RUN_TIMEOUT, "timed out", T0)
    first, second, third = status["steps"]
    assert first == previous["steps"][0]
    assert second == {
        "name": "b",
        "container": "step-b",
        "terminated": {
            "startedAt": "2025-06-01T10:00:01Z",
            "exitCode": 1,
            "reason": "TaskRunTimeout",
            "message": "Step b terminated as pod tr-pod is terminated",
            "finishedAt": "2025-06-01T10:00:00Z",
        },
        "terminationReason": "TaskRunTimeout",
    }
    assert "startedAt" not in third["terminated"]
    assert third["terminationReason"] == "TaskRunTimeout"
    assert "waiting" not in third
    assert status["completionTime"] == status["conditions"][0]["lastTransitionTime"]


def test_is_done_reads_the_succeeded_condition() -> None:
    assert not docs.is_done(None)
    assert not docs.is_done(
        {"conditions": [docs.condition(ConditionStatus.UNKNOWN, "Running", "", T0)]}
    )
    assert docs.is_done({"conditions": [docs.condition(ConditionStatus.FALSE, "Failed", "", T0)]})
