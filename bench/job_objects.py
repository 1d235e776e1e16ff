"""The objects of the Job rows: WorkflowExecutions run by the Job engine, the Job and Running
status the floor writes in the controller's place, and what the Job controller and the kubelet
write when a Job succeeds (job-engine.md §9, outcome 1) where no Job controller runs (the
emulator).

The Job controller's own reason and message are the benchmark's texts (like the Tekton statuses
of `bench.objects`): the controller reads only the condition types."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, Final

from bench.objects import IMAGE, RFC3339, WFE_NAMESPACE, run_metadata, wfe_name
from kubernaut_wfe.constants import (
    ALL_CAPABILITIES,
    BATCH_API_VERSION,
    EXECUTION_ENGINE_LABEL,
    JOB_CONTAINER_NAME,
    JOB_HOME_VARIABLE,
    JOB_KIND,
    JOB_NAME_LABEL,
    JOB_TMP_PATH,
    JOB_TMP_VOLUME,
    JOB_TMPDIR_VARIABLE,
    JOB_TRACKING_LABEL_CONTROLLER_UID,
    RESERVED_PARAMETER,
    RESTART_POLICY_NEVER,
    SECCOMP_RUNTIME_DEFAULT,
    ConditionReason,
    ConditionStatus,
    ConditionType,
    ExecutionEngine,
    JobConditionType,
    Label,
    Phase,
    PodPhase,
    StepReason,
)
from kubernaut_wfe.core.job import pod_failure_policy
from kubernaut_wfe_tools.testing.catalog_fixtures import catalog_variant

COMPLETIONS_REACHED: Final = "CompletionsReached"
"""The Job controller's reason on `SuccessCriteriaMet` and `Complete` (Kubernetes 1.31+)."""
COMPLETIONS_REACHED_MESSAGE: Final = "Reached expected number of succeeded pods"
RUNNER: Final = "kubernaut-workflow-runner"
"""The runner ServiceAccount the controller gives a WFE that names none."""


def job_wfe(index: int) -> dict[str, Any]:
    """A catalog snapshot run by the Job engine, on its own target; its workflow ends at once
    (`DELAY_SECONDS` 0) once a node runs it."""
    name = wfe_name(index)
    changes = {
        "workflowRef.executionEngine": ExecutionEngine.JOB.value,
        "workflowRef.executionBundle": IMAGE,
        "targetResource": f"{WFE_NAMESPACE}/deployment/{name}",
        "parameters": {"DELAY_SECONDS": "0"},
    }
    return catalog_variant(changes, name=name, namespace=WFE_NAMESPACE)


def floor_job(wfe: dict[str, Any], job_name: str) -> dict[str, Any]:
    """A Job like the controller's (labels, annotations, deadline, pod failure policy, the
    restricted pod template), for the floor."""
    spec = wfe["spec"]
    name, target = wfe["metadata"]["name"], spec["targetResource"]
    engine = {EXECUTION_ENGINE_LABEL: ExecutionEngine.JOB.value}
    parameters = {**spec["parameters"], RESERVED_PARAMETER: target}
    return {
        "apiVersion": BATCH_API_VERSION,
        "kind": JOB_KIND,
        "metadata": run_metadata(wfe, job_name, engine),
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": 1800,
            "podFailurePolicy": pod_failure_policy(),
            "template": {
                "metadata": {"labels": {Label.WORKFLOW_EXECUTION.value: name, **engine}},
                "spec": _pod_spec(spec["workflowRef"]["executionBundle"], parameters),
            },
        },
    }


def _pod_spec(image: str, parameters: dict[str, str]) -> dict[str, Any]:
    env = [{"name": key, "value": value} for key, value in parameters.items()]
    env += [
        {"name": key, "value": JOB_TMP_PATH} for key in (JOB_HOME_VARIABLE, JOB_TMPDIR_VARIABLE)
    ]
    return {
        "restartPolicy": RESTART_POLICY_NEVER,
        "serviceAccountName": RUNNER,
        "securityContext": {
            "runAsNonRoot": True,
            "seccompProfile": {"type": SECCOMP_RUNTIME_DEFAULT},
        },
        "volumes": [{"name": JOB_TMP_VOLUME, "emptyDir": {}}],
        "containers": [
            {
                "name": JOB_CONTAINER_NAME,
                "image": image,
                "env": env,
                "volumeMounts": [{"name": JOB_TMP_VOLUME, "mountPath": JOB_TMP_PATH}],
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "readOnlyRootFilesystem": True,
                    "runAsNonRoot": True,
                    "capabilities": {"drop": [ALL_CAPABILITIES]},
                },
            }
        ],
    }


def floor_running_status(wfe: dict[str, Any], job_name: str) -> dict[str, Any]:
    """The status the controller writes on Running (phase, ref, the three engine-neutral
    conditions), for the floor."""
    now = datetime.now(UTC).strftime(RFC3339)
    generation = wfe["metadata"].get("generation", 1)

    def condition(
        kind: ConditionType, status: ConditionStatus, reason: ConditionReason
    ) -> dict[str, Any]:
        return {
            "type": kind.value,
            "status": status.value,
            "reason": reason.value,
            "message": reason.value,
            "lastTransitionTime": now,
            "observedGeneration": generation,
        }

    return {
        "status": {
            "phase": Phase.RUNNING.value,
            "observedGeneration": generation,
            "startTime": now,
            "executionRef": {"name": job_name},
            "conditions": [
                condition(
                    ConditionType.EXECUTION_CREATED,
                    ConditionStatus.TRUE,
                    ConditionReason.EXECUTION_CREATED,
                ),
                condition(
                    ConditionType.RESOURCE_LOCKED,
                    ConditionStatus.FALSE,
                    ConditionReason.LOCK_ACQUIRED,
                ),
                condition(
                    ConditionType.EXECUTION_RUNNING,
                    ConditionStatus.TRUE,
                    ConditionReason.EXECUTION_STARTED,
                ),
            ],
        }
    }


def succeeded_job_status(job: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The Job controller's status of a Job whose one pod succeeded: counters, the interim then
    the terminal condition, `startTime` (its first sync: the Job's creation) and
    `completionTime`."""
    at = now.strftime(RFC3339)

    def condition(kind: JobConditionType) -> dict[str, Any]:
        return {
            "type": kind.value,
            "status": ConditionStatus.TRUE.value,
            "reason": COMPLETIONS_REACHED,
            "message": COMPLETIONS_REACHED_MESSAGE,
            "lastProbeTime": at,
            "lastTransitionTime": at,
        }

    return {
        "startTime": job["metadata"].get("creationTimestamp") or at,
        "completionTime": at,
        "succeeded": 1,
        "active": 0,
        "ready": 0,
        "terminating": 0,
        "uncountedTerminatedPods": {},
        "conditions": [
            condition(JobConditionType.SUCCESS_CRITERIA_MET),
            condition(JobConditionType.COMPLETE),
        ],
    }


def job_pod(job: dict[str, Any]) -> dict[str, Any]:
    """The pod the Job controller creates of `job` (its template, the Job's labels and owner
    reference; the tracking finalizer already removed, as for a counted pod)."""
    meta, template = job["metadata"], job["spec"]["template"]
    name, uid = meta["name"], meta["uid"]
    suffix = hashlib.sha256(uid.encode()).hexdigest()[:5]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{name}-{suffix}",
            "namespace": meta["namespace"],
            "labels": {
                **template["metadata"]["labels"],
                JOB_NAME_LABEL: name,
                JOB_TRACKING_LABEL_CONTROLLER_UID: uid,
            },
            "ownerReferences": [
                {
                    "apiVersion": BATCH_API_VERSION,
                    "kind": JOB_KIND,
                    "name": name,
                    "uid": uid,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": template["spec"],
    }


def succeeded_pod_status(pod: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The kubelet's last status of the pod: phase `Succeeded`, the workflow container
    terminated with exit code 0 (`Completed`)."""
    at = now.strftime(RFC3339)
    image = pod["spec"]["containers"][0]["image"]
    return {
        "phase": PodPhase.SUCCEEDED.value,
        "startTime": at,
        "containerStatuses": [
            {
                "name": JOB_CONTAINER_NAME,
                "image": image,
                "imageID": "",
                "ready": False,
                "started": False,
                "restartCount": 0,
                "state": {
                    "terminated": {
                        "exitCode": 0,
                        "reason": StepReason.COMPLETED.value,
                        "startedAt": at,
                        "finishedAt": at,
                    }
                },
            }
        ],
    }
