"""Jobs shaped like the ones the controller creates for the `job` engine (`job-engine.md` §1–3),
and the pod the Job controller makes of one: for tests and demos of the node stand-in, so that
they need neither the controller's builder nor the Job controller."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from kubernaut_wfe.constants import RESERVED_PARAMETER, ConditionStatus, Label
from kubernaut_wfe_tools.node_simulator.vocabulary import JOB_NAME_LABEL, PodConditionType, PodPhase

SAMPLE_NAMESPACE: Final = "kubernaut-workflows"
SAMPLE_JOB: Final = "wfe-f3457dcc8fbcb6d9"
SAMPLE_IMAGE: Final = "quay.io/kubernaut-test/workflow:v1.0.0"
SAMPLE_TARGET: Final = "default/deployment/nginx"
WORKFLOW_CONTAINER: Final = "workflow"
EXECUTION_ENGINE_LABEL: Final = "kubernaut.ai/execution-engine"
DEPENDENCY_MOUNT_ROOT: Final = "/run/kubernaut"
SCRATCH: Final = "/tmp"  # noqa: S108 - the pod's own emptyDir, as the controller mounts it


def workflow_job(
    name: str = SAMPLE_JOB,
    *,
    namespace: str = SAMPLE_NAMESPACE,
    wfe: str = "restart-nginx",
    image: str = SAMPLE_IMAGE,
    env: Mapping[str, str] | None = None,
    active_deadline_seconds: int = 1800,
    secrets: Sequence[str] = (),
    config_maps: Sequence[str] = (),
) -> dict[str, Any]:
    """A Job as the controller builds it: the workflow's parameters are `env` (e.g.
    `FAILURE_MODE`, `DELAY_SECONDS`), its dependencies `secrets` and `config_maps`."""
    labels = {Label.WORKFLOW_EXECUTION.value: wfe, EXECUTION_ENGINE_LABEL: "job"}
    dependencies = [
        (f"secret-{secret}", {"secret": {"secretName": secret}}, f"secrets/{secret}")
        for secret in secrets
    ]
    dependencies += [
        (f"configmap-{config_map}", {"configMap": {"name": config_map}}, f"configmaps/{config_map}")
        for config_map in config_maps
    ]
    volumes = [{"name": volume, **source} for volume, source, _ in dependencies]
    mounts: list[dict[str, Any]] = [
        {"name": volume, "mountPath": f"{DEPENDENCY_MOUNT_ROOT}/{path}", "readOnly": True}
        for volume, _, path in dependencies
    ]
    volumes.append({"name": "tmp", "emptyDir": {}})
    mounts.append({"name": "tmp", "mountPath": SCRATCH})
    parameters = {RESERVED_PARAMETER: SAMPLE_TARGET, **(env or {})}
    container_env = [{"name": key, "value": value} for key, value in sorted(parameters.items())]
    container_env += [{"name": "HOME", "value": SCRATCH}, {"name": "TMPDIR", "value": SCRATCH}]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": active_deadline_seconds,
            "podFailurePolicy": {
                "rules": [
                    {
                        "action": "Ignore",
                        "onPodConditions": [
                            {
                                "type": PodConditionType.DISRUPTION_TARGET.value,
                                "status": ConditionStatus.TRUE.value,
                            }
                        ],
                    }
                ]
            },
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {
                    "restartPolicy": "Never",
                    "securityContext": {
                        "runAsNonRoot": True,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "volumes": volumes,
                    "containers": [
                        {
                            "name": WORKFLOW_CONTAINER,
                            "image": image,
                            "env": container_env,
                            "volumeMounts": mounts,
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True,
                                "runAsNonRoot": True,
                                "capabilities": {"drop": ["ALL"]},
                            },
                        }
                    ],
                },
            },
        },
    }


def job_pod(
    job: Mapping[str, Any],
    *,
    suffix: str = "x7k2p",
    uid: str = "5e0d7c1a-0000-4000-8000-000000000001",
    created: str = "2025-06-01T10:00:00Z",
) -> dict[str, Any]:
    """The pod the Job controller creates for `job`, as the API server stores it (defaults in,
    not yet bound, no status but the QoS class)."""
    template = job["spec"]["template"]
    name = job["metadata"]["name"]
    container = {**template["spec"]["containers"][0], "imagePullPolicy": "IfNotPresent"}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{name}-{suffix}",
            "generateName": f"{name}-",
            "namespace": job["metadata"]["namespace"],
            "uid": uid,
            "generation": 1,
            "resourceVersion": "1000",
            "creationTimestamp": created,
            "labels": {**template["metadata"]["labels"], JOB_NAME_LABEL: name},
            "finalizers": ["batch.kubernetes.io/job-tracking"],
        },
        "spec": {
            **template["spec"],
            "containers": [container],
            "serviceAccountName": "default",
            "terminationGracePeriodSeconds": 30,
        },
        "status": {"phase": PodPhase.PENDING.value, "qosClass": "BestEffort"},
    }


def kube_api_access_volume() -> dict[str, Any]:
    """The projected volume the API server's ServiceAccount admission adds to a pod that does
    not opt out (token, cluster CA, namespace), as a kubelet receives it."""
    return {
        "name": "kube-api-access-x7k2p",
        "projected": {
            "defaultMode": 420,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {
                    "configMap": {
                        "name": "kube-root-ca.crt",
                        "items": [{"key": "ca.crt", "path": "ca.crt"}],
                    }
                },
                {
                    "downwardAPI": {
                        "items": [
                            {
                                "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                                "path": "namespace",
                            }
                        ]
                    }
                },
            ],
        },
    }
