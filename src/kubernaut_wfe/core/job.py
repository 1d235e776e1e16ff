"""The Job the controller creates for a WFE whose engine is `job` (job-engine.md §1-§3): a pure
function, no I/O, with the conventions of `core.pipelinerun`.

Where it departs from upstream's Job, on purpose:
- no `podFailurePolicy` rule ignores exit code 137, so an OOM-killed workflow fails at once
  (upstream retries it until its deadline, 30 minutes by default); only disruptions (eviction,
  preemption, node shutdown) are tolerated;
- no `ttlSecondsAfterFinished`: the Job is the per-target lock, and the controller deletes it
  after the cooldown (a TTL would release the lock behind its back);
- the deadline is the one every engine gets (`core.deadline`), `execution.job_active_deadline`
  when the WFE sets none;
- a dependency whose name is no valid volume name gets a derived one (`core.naming.dns_label`)
  instead of a refused create; repeated dependencies are mounted once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kubernaut_wfe.constants import (
    ALL_CAPABILITIES,
    BATCH_API_VERSION,
    DISRUPTION_TARGET_CONDITION,
    EXECUTION_ENGINE_LABEL,
    JOB_CONFIG_MAPS_MOUNT_ROOT,
    JOB_CONTAINER_NAME,
    JOB_KIND,
    JOB_SECRETS_MOUNT_ROOT,
    JOB_TMP_PATH,
    JOB_TMP_VOLUME,
    POD_FAILURE_POLICY_IGNORE,
    RESTART_POLICY_NEVER,
    SECCOMP_RUNTIME_DEFAULT,
    Annotation,
    ConditionStatus,
    DependencyWorkspace,
    ExecutionEngine,
    Label,
)
from kubernaut_wfe.core.config import ControllerConfig
from kubernaut_wfe.core.deadline import SHORTEST_RUN, run_deadline
from kubernaut_wfe.core.dependencies import dependency_names
from kubernaut_wfe.core.models import WorkflowExecution
from kubernaut_wfe.core.naming import dns_label, pipelinerun_name
from kubernaut_wfe.core.parameters import JOB_ENVIRONMENT, ordered_parameters
from kubernaut_wfe.core.pipelinerun import bundle_reference, ownership_annotations, run_labels
from kubernaut_wfe.core.service_accounts import run_service_account


def build_job(
    wfe: WorkflowExecution,
    config: ControllerConfig,
    *,
    now: datetime,
    canonical_target: str | None = None,
) -> dict[str, Any]:
    """The Job document to CREATE for this WFE at `now` (validate the WFE first).

    Named, labelled and annotated as the PipelineRun would be (`core.pipelinerun`): one lock per
    target, whichever engine runs it; `canonical_target` as there. The image is the
    PipelineRun's bundle: `executionBundle` verbatim, or the January `containerImage` pinned to
    its `containerDigest`.

    `automountServiceAccountToken` is left unset, so the run's ServiceAccount token is mounted:
    the run identity (`workflowRef.serviceAccountName`, else the configured runner) exists so
    that the workflow acts on the cluster with that account's permissions, which it cannot do
    without the token. An account that wants no token says so itself
    (`automountServiceAccountToken: false` on the ServiceAccount), and that is kept.
    """
    spec = wfe.spec
    lock = canonical_target or spec.target_resource
    engine = {EXECUTION_ENGINE_LABEL: ExecutionEngine.JOB.value}
    labels = run_labels(wfe, lock)
    owner = Label.WORKFLOW_EXECUTION.value
    volumes, mounts = _volumes_and_mounts(wfe)
    container: dict[str, Any] = {
        "name": JOB_CONTAINER_NAME,
        "image": bundle_reference(spec.workflow_ref),
        "env": _environment(wfe),
        "volumeMounts": mounts,
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": [ALL_CAPABILITIES]},
        },
    }
    if resources := _without_nulls(spec.workflow_ref.resources or {}):
        container["resources"] = resources
    return {
        "apiVersion": BATCH_API_VERSION,
        "kind": JOB_KIND,
        "metadata": {
            "name": pipelinerun_name(lock),
            "namespace": config.execution.namespace,
            "labels": {**labels, **engine},
            "annotations": {
                Annotation.TARGET_RESOURCE.value: spec.target_resource,
                **ownership_annotations(wfe),
            },
        },
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": _active_deadline_seconds(wfe, config, now),
            "podFailurePolicy": pod_failure_policy(),
            "template": {
                "metadata": {"labels": {owner: labels[owner], **engine}},
                "spec": {
                    "restartPolicy": RESTART_POLICY_NEVER,
                    "serviceAccountName": run_service_account(spec, config.execution),
                    "securityContext": {
                        "runAsNonRoot": True,
                        "seccompProfile": {"type": SECCOMP_RUNTIME_DEFAULT},
                    },
                    "volumes": volumes,
                    "containers": [container],
                },
            },
        },
    }


def _active_deadline_seconds(
    wfe: WorkflowExecution, config: ControllerConfig, now: datetime
) -> int:
    """The Job's `activeDeadlineSeconds`: the WFE's deadline (`core.deadline`), else
    `execution.job_active_deadline`, never more than `execution.max_run_timeout`; whole seconds,
    at least one."""
    execution = config.execution
    longest = execution.max_run_timeout
    deadline = run_deadline(wfe.spec, now, longest)
    if deadline is None:
        deadline = min(execution.job_active_deadline, longest)
    return max(int(SHORTEST_RUN.total_seconds()), int(deadline.total_seconds()))


def _environment(wfe: WorkflowExecution) -> list[dict[str, str]]:
    """The received parameters in the run's order (`TARGET_RESOURCE` with them), then `HOME` and
    `TMPDIR` on the writable emptyDir (parameters of those names are not passed:
    `core.parameters`)."""
    parameters = [{"name": name, "value": value} for name, value in ordered_parameters(wfe.spec)]
    return [*parameters, *({"name": name, "value": JOB_TMP_PATH} for name in JOB_ENVIRONMENT)]


def _volumes_and_mounts(
    wfe: WorkflowExecution,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The dependencies as read-only volumes (Secrets, then ConfigMaps), then `tmp`."""
    secrets, config_maps = dependency_names(wfe.spec.workflow_ref)
    volumes: list[dict[str, Any]] = []
    mounts: list[dict[str, Any]] = []
    for name in secrets:
        volume = dns_label(DependencyWorkspace.SECRET, name)
        volumes.append({"name": volume, "secret": {"secretName": name}})
        mounts.append(
            {"name": volume, "mountPath": f"{JOB_SECRETS_MOUNT_ROOT}/{name}", "readOnly": True}
        )
    for name in config_maps:
        volume = dns_label(DependencyWorkspace.CONFIG_MAP, name)
        volumes.append({"name": volume, "configMap": {"name": name}})
        mounts.append(
            {"name": volume, "mountPath": f"{JOB_CONFIG_MAPS_MOUNT_ROOT}/{name}", "readOnly": True}
        )
    volumes.append({"name": JOB_TMP_VOLUME, "emptyDir": {}})
    mounts.append({"name": JOB_TMP_VOLUME, "mountPath": JOB_TMP_PATH})
    return volumes, mounts


def _without_nulls(value: Any) -> Any:
    """`workflowRef.resources` as the API takes a container's: explicit nulls left out."""
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value if item is not None]
    return value


def pod_failure_policy() -> dict[str, Any]:
    """A pod disrupted by the cluster (eviction, preemption: `DisruptionTarget`) is ignored and
    replaced; every other failure fails the Job (`backoffLimit: 0`). No rule for exit 137."""
    return {
        "rules": [
            {
                "action": POD_FAILURE_POLICY_IGNORE,
                "onPodConditions": [
                    {"type": DISRUPTION_TARGET_CONDITION, "status": ConditionStatus.TRUE.value}
                ],
            }
        ]
    }
