"""Shared fixtures: the Tekton v1.7 status documents of tekton-status.md §3, and WFE builders."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from kubernaut_wfe.constants import FINALIZER
from kubernaut_wfe.core.config import ControllerConfig, load_config

PR = "wfe-f3457dcc8fbcb6d9"
NS = "kubernaut-workflows"
WFE_UID = "11111111-wfe-uid"
NOW = datetime(2025, 6, 1, 10, 2, 0, tzinfo=UTC)

Factory = Callable[..., dict[str, Any]]


def _child(task: str) -> dict[str, Any]:
    return {
        "apiVersion": "tekton.dev/v1",
        "kind": "TaskRun",
        "name": f"{PR}-{task}",
        "pipelineTaskName": task,
    }


def _ours() -> dict[str, Any]:
    return {
        "name": PR,
        "namespace": NS,
        "uid": "0b6c5c1e-pr-uid",
        "resourceVersion": "42",
        "creationTimestamp": "2025-06-01T10:00:00Z",
        # As the builder labels the run of `make_wfe_raw()` (and Tekton adds its own).
        "labels": {
            "tekton.dev/pipeline": "workflow",
            "kubernaut.ai/workflow-execution": "restart-nginx",
            "kubernaut.ai/source-namespace": "default",
            "kubernaut.ai/workflow-id": "restart",
            "kubernaut.ai/target-resource": "default__deployment__nginx",
        },
        "annotations": {
            "kubernaut.ai/target-resource": "default/deployment/nginx",
            "kubernaut.ai/workflow-execution": "default/restart-nginx",
            "kubernaut.ai/workflow-execution-uid": WFE_UID,
        },
    }


RUNNING_RUN: dict[str, Any] = {
    "metadata": _ours(),
    "status": {
        "startTime": "2025-06-01T10:00:00Z",
        "conditions": [
            {
                "type": "Succeeded",
                "status": "Unknown",
                "reason": "Running",
                "message": "Tasks Completed: 1 (Failed: 0, Cancelled 0), Incomplete: 1, Skipped: 0",
                "lastTransitionTime": "2025-06-01T10:00:40Z",
            }
        ],
        "pipelineSpec": {
            "tasks": [{"name": "prepare"}, {"name": "apply", "runAfter": ["prepare"]}]
        },
        "childReferences": [_child("prepare"), _child("apply")],
        "provenance": {
            "refSource": {
                "uri": "quay.io/acme/restart-workflow",
                "digest": {"sha256": "9f2c0d1e"},
                "entryPoint": "workflow",
            }
        },
    },
}

SUCCEEDED_RUN: dict[str, Any] = copy.deepcopy(RUNNING_RUN)
SUCCEEDED_RUN["status"]["completionTime"] = "2025-06-01T10:01:30Z"
SUCCEEDED_RUN["status"]["conditions"] = [
    {
        "type": "Succeeded",
        "status": "True",
        "reason": "Succeeded",
        "message": "Tasks Completed: 2 (Failed: 0, Cancelled 0), Skipped: 0",
        "lastTransitionTime": "2025-06-01T10:01:30Z",
    }
]

FAILED_RUN: dict[str, Any] = {
    "metadata": _ours(),
    "status": {
        "startTime": "2025-06-01T10:00:00Z",
        "completionTime": "2025-06-01T10:01:05Z",
        "conditions": [
            {
                "type": "Succeeded",
                "status": "False",
                "reason": "Failed",
                "message": "Tasks Completed: 2 (Failed: 1, Cancelled 0), Skipped: 1",
                "lastTransitionTime": "2025-06-01T10:01:05Z",
            }
        ],
        "childReferences": [_child("prepare"), _child("apply")],
        "skippedTasks": [{"name": "verify", "reason": "PipelineRun was stopping"}],
    },
}


def _taskrun(task: str, status: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {
            "name": f"{PR}-{task}",
            "namespace": NS,
            "labels": {
                "tekton.dev/pipelineRun": PR,
                "tekton.dev/pipelineRunUID": "0b6c5c1e-pr-uid",
                "tekton.dev/pipelineTask": task,
                "tekton.dev/memberOf": "tasks",
                "tekton.dev/pipeline": "workflow",
                "app.kubernetes.io/managed-by": "tekton-pipelines",
            },
        },
        "status": status,
    }


def _step(name: str, terminated: dict[str, Any], reason: str | None = None) -> dict[str, Any]:
    step: dict[str, Any] = {"name": name, "container": f"step-{name}", "terminated": terminated}
    if reason is not None:
        step["terminationReason"] = reason
    return step


PREPARE_TASKRUN = _taskrun(
    "prepare",
    {
        "podName": f"{PR}-prepare-pod",
        "conditions": [
            {
                "type": "Succeeded",
                "status": "True",
                "reason": "Succeeded",
                "message": "All Steps have completed executing",
            }
        ],
        "steps": [_step("prep", {"exitCode": 0, "reason": "Completed"}, "Completed")],
    },
)

FAILED_TASKRUN = _taskrun(
    "apply",
    {
        "podName": f"{PR}-apply-pod",
        "startTime": "2025-06-01T10:00:31Z",
        "completionTime": "2025-06-01T10:01:04Z",
        "conditions": [
            {
                "type": "Succeeded",
                "status": "False",
                "reason": "Failed",
                "message": '"step-apply" exited with code 1: Error',
                "lastTransitionTime": "2025-06-01T10:01:04Z",
            }
        ],
        "steps": [
            _step("check", {"exitCode": 0, "reason": "Completed"}, "Completed"),
            _step("apply", {"exitCode": 1, "reason": "Error"}, "Error"),
            _step("report", {"exitCode": 1, "reason": "Error"}, "Skipped"),
        ],
        "artifacts": {},
    },
)

OOM_TASKRUN = _taskrun(
    "apply",
    {
        "podName": f"{PR}-apply-pod",
        "startTime": "2025-06-01T10:00:31Z",
        "completionTime": "2025-06-01T10:00:58Z",
        "conditions": [
            {
                "type": "Succeeded",
                "status": "False",
                "reason": "Failed",
                "message": '"step-apply" exited with code 137: OOMKilled',
            }
        ],
        "steps": [
            {
                "name": "apply",
                "container": "step-apply",
                "imageID": "quay.io/acme/kubectl@sha256:3c4d",
                "terminated": {"exitCode": 137, "reason": "OOMKilled"},
            },
            {
                "name": "report",
                "container": "step-report",
                "running": {"startedAt": "2025-06-01T10:00:39Z"},
            },
        ],
        "artifacts": {},
    },
)

TIMEOUT_RUN: dict[str, Any] = {
    "metadata": _ours(),
    "status": {
        "startTime": "2025-06-01T10:00:00Z",
        "completionTime": "2025-06-01T10:30:01Z",
        "conditions": [
            {
                "type": "Succeeded",
                "status": "False",
                "reason": "PipelineRunTimeout",
                "message": f'PipelineRun "{PR}" failed to finish within "30m0s"',
            }
        ],
        "childReferences": [_child("apply")],
    },
}

CANCELLED_BY_TIMEOUT_TASKRUN = _taskrun(
    "apply",
    {
        "podName": f"{PR}-apply-pod",
        "startTime": "2025-06-01T10:00:31Z",
        "completionTime": "2025-06-01T10:30:02Z",
        "conditions": [
            {
                "type": "Succeeded",
                "status": "False",
                "reason": "TaskRunCancelled",
                "message": f'TaskRun "{PR}-apply" was cancelled. TaskRun cancelled as the'
                " PipelineRun it belongs to has timed out.",
            }
        ],
        "steps": [
            {
                "name": "apply",
                "container": "step-apply",
                "terminationReason": "TaskRunCancelled",
                "terminated": {
                    "exitCode": 1,
                    "reason": "TaskRunCancelled",
                    "message": f"Step apply terminated as pod {PR}-apply-pod is terminated",
                    "startedAt": "2025-06-01T10:00:40Z",
                },
            }
        ],
    },
)


def run_with(reason: str, message: str, status: str = "False", **extra: Any) -> dict[str, Any]:
    """A PipelineRun of ours with the given `Succeeded` condition (no children unless given)."""
    return {
        "metadata": _ours(),
        "status": {
            "startTime": "2025-06-01T10:00:00Z",
            "completionTime": "2025-06-01T10:01:00Z",
            "conditions": [
                {"type": "Succeeded", "status": status, "reason": reason, "message": message}
            ],
            **extra,
        },
    }


def taskrun_with(
    task: str,
    reason: str,
    message: str,
    *,
    status: str = "False",
    pod: bool = True,
    steps: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A child TaskRun `<pr>-<task>` with that condition."""
    return _taskrun(
        task,
        {
            "podName": f"{PR}-{task}-pod" if pod else "",
            "conditions": [
                {"type": "Succeeded", "status": status, "reason": reason, "message": message}
            ],
            "steps": steps or [],
        },
    )


def child(task: str) -> dict[str, Any]:
    return _child(task)


def make_wfe_raw(
    *,
    name: str = "restart-nginx",
    namespace: str = "default",
    uid: str = WFE_UID,
    target: str = "default/deployment/nginx",
    phase: str | None = None,
    status: dict[str, Any] | None = None,
    spec: dict[str, Any] | None = None,
    finalizers: list[str] | None = None,
    created: str = "2025-06-01T09:59:00Z",
    **metadata: Any,
) -> dict[str, Any]:
    """A valid WFE as the API returns it; override pieces with keyword arguments."""
    body_status = dict(status or {})
    if phase is not None:
        body_status["phase"] = phase
    return {
        "apiVersion": "kubernaut.ai/v1alpha1",
        "kind": "WorkflowExecution",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": uid,
            "generation": 1,
            "resourceVersion": "7",
            "creationTimestamp": created,
            "finalizers": [FINALIZER] if finalizers is None else finalizers,
            **metadata,
        },
        "spec": spec
        or {
            "remediationRequestRef": {"name": "rr-1", "kind": "RemediationRequest"},
            "workflowRef": {
                "workflowId": "restart",
                "version": "1.0.0",
                "containerImage": "quay.io/acme/restart-workflow:v1",
            },
            "targetResource": target,
            "parameters": {"REPLICAS": "3", "DELAY_SECONDS": "2"},
        },
        "status": body_status,
    }


@pytest.fixture
def config() -> ControllerConfig:
    return load_config(None)


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def running_run() -> dict[str, Any]:
    return copy.deepcopy(RUNNING_RUN)


@pytest.fixture
def succeeded_run() -> dict[str, Any]:
    return copy.deepcopy(SUCCEEDED_RUN)


@pytest.fixture
def failed_run() -> dict[str, Any]:
    return copy.deepcopy(FAILED_RUN)


@pytest.fixture
def timeout_run() -> dict[str, Any]:
    return copy.deepcopy(TIMEOUT_RUN)


@pytest.fixture
def prepare_taskrun() -> dict[str, Any]:
    return copy.deepcopy(PREPARE_TASKRUN)


@pytest.fixture
def failed_taskrun() -> dict[str, Any]:
    return copy.deepcopy(FAILED_TASKRUN)


@pytest.fixture
def oom_taskrun() -> dict[str, Any]:
    return copy.deepcopy(OOM_TASKRUN)


@pytest.fixture
def cancelled_taskrun() -> dict[str, Any]:
    return copy.deepcopy(CANCELLED_BY_TIMEOUT_TASKRUN)


@pytest.fixture
def make_run() -> Factory:
    """`make_run(reason, message, status="False", **status_fields)`."""
    return run_with


@pytest.fixture
def make_taskrun() -> Factory:
    """`make_taskrun(task, reason, message, status=, pod=, steps=)`."""
    return taskrun_with


@pytest.fixture
def make_child() -> Factory:
    """`make_child(task)`: a childReferences entry."""
    return child


@pytest.fixture
def make_wfe() -> Factory:
    """`make_wfe(**overrides)`: a valid WFE document as the API returns it."""
    return make_wfe_raw
