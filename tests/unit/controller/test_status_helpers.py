"""The status write: its merge patch, and the vocabulary a Job-engine WFE shows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kubernaut_wfe.constants import FINALIZER, ConditionType
from kubernaut_wfe.core.models import PipelineRunSummary, WorkflowExecutionStatus
from kubernaut_wfe.core.transitions import to_running
from kubernaut_wfe.core.validation import parse_wfe
from kubernaut_wfe.reconcile.status import merge_patch, status_document


@pytest.mark.parametrize(
    ("old", "new", "patch"),
    [
        ({}, {"a": 1}, {"a": 1}),
        ({"a": 1, "b": 2}, {"a": 1}, {"a": 1, "b": None}),
        ({"s": {"x": 1, "y": 2}}, {"s": {"x": 3}}, {"s": {"x": 3, "y": None}}),
        ({"l": [1, 2]}, {"l": [3]}, {"l": [3]}),
        ({"s": {"x": 1}}, {"s": 5}, {"s": 5}),
    ],
)
def test_merge_patch(old: dict[str, Any], new: dict[str, Any], patch: dict[str, Any]) -> None:
    assert merge_patch(old, new) == patch


# --- What a Job-engine WFE shows -------------------------------------------------------------

JOB_SPEC: dict[str, Any] = {
    "remediationRequestRef": {"name": "rr"},
    "workflowRef": {
        "workflowId": "x",
        "version": "1",
        "containerImage": "q/x:v1",
        "executionEngine": "job",
    },
    "targetResource": "team/deployment/x",
}
CREATED = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)


def _job_wfe(status: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "kubernaut.ai/v1alpha1",
        "kind": "WorkflowExecution",
        "metadata": {"name": "w", "namespace": "team", "uid": "u", "finalizers": [FINALIZER]},
        "spec": JOB_SPEC,
        "status": status,
    }


def _running_status() -> WorkflowExecutionStatus:
    job = {"kind": "Job", "metadata": {"name": "wfe-1", "namespace": "exec"}, "status": {}}
    wfe = parse_wfe(_job_wfe({}))
    summary = PipelineRunSummary(reason="Running", completed_tasks=0, total_tasks=1, retry_count=1)
    return to_running(wfe, job, summary, CREATED, adopted=False)


def test_a_job_wfe_shows_the_engine_neutral_vocabulary_alone() -> None:
    status = _running_status()
    document = status_document(status, parse_wfe(_job_wfe({})))
    assert "pipelineRunRef" not in document
    assert "pipelineRunStatus" not in document
    assert document["executionRef"] == {"name": "wfe-1"}
    assert document["executionStatus"]["retryCount"] == 1
    types = [condition["type"] for condition in document["conditions"]]
    assert not [kind for kind in types if kind.startswith("TektonPipeline")]
    assert {"ExecutionCreated", "ExecutionRunning"} <= set(types)


def test_what_a_job_wfe_shows_reads_back_into_the_status_the_decisions_know() -> None:
    status = _running_status()
    written = status_document(status, parse_wfe(_job_wfe({})))
    read_back = parse_wfe(_job_wfe(written))
    assert read_back.status.pipeline_run_ref == status.pipeline_run_ref
    assert read_back.status.condition(ConditionType.TEKTON_PIPELINE_RUNNING) == status.condition(
        ConditionType.TEKTON_PIPELINE_RUNNING
    )
    # Written again unchanged: the round trip never makes a status write of its own.
    assert status_document(read_back.status, read_back) == written


def test_a_tekton_wfe_keeps_both_vocabularies() -> None:
    raw = _job_wfe({})
    raw["spec"] = {**JOB_SPEC, "workflowRef": {**JOB_SPEC["workflowRef"], "executionEngine": ""}}
    wfe = parse_wfe(raw)
    document = status_document(_running_status(), wfe)
    assert document["pipelineRunRef"] == document["executionRef"]
