"""The TaskRun object and the TaskRun status documents Tekton v1.7 writes. Pure."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kubernaut_wfe.constants import (
    PIPELINERUN_KIND,
    TASKRUN_KIND,
    TEKTON_API_VERSION,
    ConditionStatus,
    StepReason,
    TektonLabel,
    TektonReason,
)
from kubernaut_wfe_tools.tekton_simulator import messages
from kubernaut_wfe_tools.tekton_simulator.documents.common import (
    LAST_APPLIED_ANNOTATION,
    MANAGED_BY_TEKTON,
    MEMBER_OF_TASKS,
    Document,
    condition,
    pod_name,
    task_spec,
    taskrun_name,
)
from kubernaut_wfe_tools.tekton_simulator.documents.pipelinerun import pipeline_label
from kubernaut_wfe_tools.tekton_simulator.durations import format_go_duration, rfc3339
from kubernaut_wfe_tools.tekton_simulator.scenario import (
    DEFAULT_TASK_TIMEOUT,
    Scenario,
)


def taskrun_object(scenario: Scenario) -> Document:
    """The TaskRun Tekton creates for the single pipeline task (no status yet)."""
    task = scenario.task
    name = taskrun_name(scenario.name, task.pipeline_task)
    labels = {
        **scenario.labels,
        **pipeline_label(scenario),
        TektonLabel.PIPELINE_RUN: scenario.name,
        TektonLabel.PIPELINE_RUN_UID: scenario.uid,
        TektonLabel.PIPELINE_TASK: task.pipeline_task,
        TektonLabel.MEMBER_OF: MEMBER_OF_TASKS,
        TektonLabel.MANAGED_BY: MANAGED_BY_TEKTON,
    }
    annotations = {k: v for k, v in scenario.annotations.items() if k != LAST_APPLIED_ANNOTATION}
    metadata: Document = {
        "name": name,
        "namespace": scenario.namespace,
        "labels": {str(key): value for key, value in labels.items()},
        "ownerReferences": [
            {
                "apiVersion": TEKTON_API_VERSION,
                "kind": PIPELINERUN_KIND,
                "name": scenario.name,
                "uid": scenario.uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    }
    if annotations:
        metadata["annotations"] = annotations
    spec: Document = {
        "serviceAccountName": scenario.service_account,
        "taskSpec": task_spec(scenario),
        "timeout": format_go_duration(task.timeout or DEFAULT_TASK_TIMEOUT),
    }
    if scenario.pod_template:
        spec["podTemplate"] = copy.deepcopy(dict(scenario.pod_template))
    if scenario.dependencies:
        # Only the bound workspaces reach the TaskRun (an unbound optional one is left out).
        spec["workspaces"] = [dependency.binding() for dependency in scenario.dependencies]
    return {
        "apiVersion": TEKTON_API_VERSION,
        "kind": TASKRUN_KIND,
        "metadata": metadata,
        "spec": spec,
    }


def _names(scenario: Scenario) -> tuple[str, str, str]:
    taskrun = taskrun_name(scenario.name, scenario.task.pipeline_task)
    return taskrun, pod_name(taskrun), f"step-{scenario.task.step}"


def _image_id(image: str) -> str:
    repository = image.rsplit(":", 1)[0] if "@" not in image else image.split("@", 1)[0]
    return f"{repository}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def _container_id(taskrun: str, container: str) -> str:
    return "containerd://" + hashlib.sha256(f"{taskrun}/{container}".encode()).hexdigest()


def taskrun_pending(scenario: Scenario, start: datetime) -> Document:
    """First reconcile: the pod exists, nothing runs yet."""
    _, pod, _ = _names(scenario)
    return {
        "podName": pod,
        "startTime": rfc3339(start),
        "conditions": [
            condition(ConditionStatus.UNKNOWN, TektonReason.PENDING, messages.PENDING, start)
        ],
        "taskSpec": task_spec(scenario),
    }


def _step(scenario: Scenario, state: str, body: Document, *, image_id: bool = True) -> Document:
    step: Document = {"name": scenario.task.step, "container": _names(scenario)[2]}
    if image_id:
        step["imageID"] = _image_id(scenario.task.image)
    step[state] = body
    return step


def taskrun_running(previous: Mapping[str, Any], scenario: Scenario, at: datetime) -> Document:
    """The step container started."""
    document = copy.deepcopy(dict(previous))
    document["conditions"] = [
        condition(
            ConditionStatus.UNKNOWN, TektonReason.RUNNING, messages.NOT_ALL_STEPS_FINISHED, at
        )
    ]
    document["steps"] = [_step(scenario, "running", {"startedAt": rfc3339(at)})]
    return document


def taskrun_step_exited(
    previous: Mapping[str, Any],
    scenario: Scenario,
    *,
    exit_code: int,
    reason: StepReason,
    started: datetime,
    at: datetime,
) -> Document:
    """The pod completed: Succeeded for exit 0, otherwise Failed with the exit message."""
    taskrun, _, container = _names(scenario)
    terminated: Document = {
        "exitCode": exit_code,
        "reason": str(reason),
        "startedAt": rfc3339(started),
        "finishedAt": rfc3339(at),
        "containerID": _container_id(taskrun, container),
    }
    step = _step(scenario, "terminated", terminated)
    if reason is not StepReason.OOM_KILLED:
        # The whole container was OOM-killed: no termination message, so no terminationReason.
        step["terminationReason"] = str(reason)
    if exit_code == 0:
        final = condition(
            ConditionStatus.TRUE, TektonReason.SUCCEEDED, messages.ALL_STEPS_COMPLETED, at
        )
    else:
        message = messages.step_exited(container, exit_code, reason)
        final = condition(ConditionStatus.FALSE, TektonReason.FAILED, message, at)
    document = copy.deepcopy(dict(previous))
    document.update(conditions=[final], steps=[step], completionTime=rfc3339(at), artifacts={})
    return document


def taskrun_failed_by_tekton(
    previous: Mapping[str, Any], reason: TektonReason, message: str, at: datetime
) -> Document:
    """Tekton fails the TaskRun itself: unfinished steps are rewritten as terminated, exit 1."""
    document = copy.deepcopy(dict(previous))
    pod = document.get("podName") or ""
    steps = []
    for previous_step in document.get("steps") or []:
        step = previous_step
        if "running" in step or "waiting" in step:
            terminated: Document = {
                "exitCode": 1,
                "reason": str(reason),
                "message": messages.step_terminated_with_pod(step["name"], pod),
                "finishedAt": rfc3339(at),
            }
            if "running" in step:
                terminated = {"startedAt": step["running"]["startedAt"], **terminated}
            step = {k: v for k, v in step.items() if k not in {"running", "waiting"}}
            step.update(terminated=terminated, terminationReason=str(reason))
        steps.append(step)
    if steps:
        document["steps"] = steps
    document["conditions"] = [condition(ConditionStatus.FALSE, reason, message, at)]
    document["completionTime"] = rfc3339(at)
    return document


def taskrun_cancelled(
    scenario: Scenario, previous: Mapping[str, Any] | None, at: datetime, cause: str
) -> Document:
    """The child of a PipelineRun that timed out or was cancelled (`cause` says which)."""
    taskrun, _, _ = _names(scenario)
    message = messages.taskrun_cancelled(taskrun, cause)
    base = previous if previous is not None else {"podName": ""}
    return taskrun_failed_by_tekton(base, TektonReason.TASK_RUN_CANCELLED, message, at)


def taskrun_cancel_spec(cause: str) -> Document:
    """The spec patch the PipelineRun reconciler sends an unfinished child it cancels."""
    return {"status": str(TektonReason.TASK_RUN_CANCELLED), "statusMessage": cause}


def taskrun_timed_out(scenario: Scenario, previous: Mapping[str, Any], at: datetime) -> Document:
    taskrun, _, _ = _names(scenario)
    duration = format_go_duration(scenario.task.timeout or DEFAULT_TASK_TIMEOUT)
    message = messages.taskrun_timeout(taskrun, duration)
    return taskrun_failed_by_tekton(previous, TektonReason.TASK_RUN_TIMEOUT, message, at)


def taskrun_pulling_image(
    previous: Mapping[str, Any], scenario: Scenario, at: datetime
) -> Document:
    """Unknown PullImageFailed while the kubelet reports ErrImagePull."""
    _, _, container = _names(scenario)
    kubelet = messages.kubelet_err_image_pull(scenario.task.image)
    document = copy.deepcopy(dict(previous))
    document["conditions"] = [
        condition(
            ConditionStatus.UNKNOWN,
            TektonReason.PULL_IMAGE_FAILED,
            messages.build_step_pending(container, kubelet),
            at,
        )
    ]
    waiting = {"reason": str(StepReason.ERR_IMAGE_PULL), "message": kubelet}
    document["steps"] = [_step(scenario, "waiting", waiting, image_id=False)]
    return document


def taskrun_image_pull_failed(
    previous: Mapping[str, Any], scenario: Scenario, at: datetime
) -> Document:
    """False TaskRunImagePullFailed once the kubelet backs off; the image ID is still empty."""
    taskrun, _, _ = _names(scenario)
    kubelet = messages.kubelet_back_off_pulling(scenario.task.image)
    message = messages.image_pull_failed(scenario.task.step, taskrun, "", kubelet)
    return taskrun_failed_by_tekton(previous, TektonReason.TASK_RUN_IMAGE_PULL_FAILED, message, at)


def taskrun_pod_admission_failed(scenario: Scenario, at: datetime) -> Document:
    """The pod is refused by PodSecurity admission at the first reconcile."""
    _, pod, container = _names(scenario)
    message = messages.pod_security_violation(pod, container)
    return {
        "podName": "",
        "startTime": rfc3339(at),
        "completionTime": rfc3339(at),
        "conditions": [
            condition(ConditionStatus.FALSE, TektonReason.POD_ADMISSION_FAILED, message, at)
        ],
        "taskSpec": task_spec(scenario),
    }


def taskrun_exceeded_quota(scenario: Scenario, at: datetime) -> Document:
    """Pod creation refused by a ResourceQuota: no pod, no startTime, retried."""
    _, pod, _ = _names(scenario)
    message = messages.exceeded_resource_quota(pod)
    return {
        "podName": "",
        "conditions": [
            condition(ConditionStatus.UNKNOWN, TektonReason.EXCEEDED_RESOURCE_QUOTA, message, at)
        ],
        "taskSpec": task_spec(scenario),
    }


def taskrun_config_error(previous: Mapping[str, Any], scenario: Scenario, at: datetime) -> Document:
    """The kubelet cannot configure the step's container: a bound Secret or ConfigMap is
    missing. Tekton fails the TaskRun `CreateContainerConfigError` from the pod's status but
    writes no `completionTime` (the pod is left waiting); the step keeps the kubelet's waiting
    state, which names the first missing object (the kubelet stops at it). Tekton compares the
    waiting reason with its own constant of the same text."""
    missing = scenario.missing_dependencies[0]
    waiting = {
        "reason": str(TektonReason.CREATE_CONTAINER_CONFIG_ERROR),
        "message": messages.kubelet_object_not_found(missing.kind, missing.name),
    }
    document = copy.deepcopy(dict(previous))
    document["conditions"] = [
        condition(
            ConditionStatus.FALSE,
            TektonReason.CREATE_CONTAINER_CONFIG_ERROR,
            messages.POD_CONFIG_ERROR,
            at,
        )
    ]
    document["steps"] = [_step(scenario, "waiting", waiting, image_id=False)]
    return document
