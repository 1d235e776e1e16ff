"""The controller's pod, from the chart and from deploy/: one replica, Recreate, probes on the
spec's ports, a restricted security context on a read-only root filesystem, /tmp writable."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Documents, Render, find  # noqa: TID252

RESTRICTED_CONTAINER = {
    "runAsNonRoot": True,
    "runAsUser": 65532,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


@pytest.fixture(params=["chart", "deploy"])
def deployment(request: pytest.FixtureRequest, render: Render) -> dict[str, Any]:
    documents: Documents = (
        render(None) if request.param == "chart" else request.getfixturevalue("kustomized")
    )
    return find(documents, "Deployment", "kubernaut-wfe-controller")


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def test_one_replica_replaced_by_recreate(deployment: dict[str, Any]) -> None:
    assert deployment["metadata"]["namespace"] == "kubernaut-system"
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}


def test_probes_and_ports(deployment: dict[str, Any]) -> None:
    container = _container(deployment)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"metrics": 9090, "probes": 8081}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "probes"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "probes"}


def test_runs_the_controller_with_the_mounted_config(deployment: dict[str, Any]) -> None:
    container = _container(deployment)
    assert container["args"] == ["run", "--config", "/etc/kubernaut-wfe/config.yaml"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes[mounts["/etc/kubernaut-wfe"]]["configMap"]["name"] == "kubernaut-wfe-config"
    assert "emptyDir" in volumes[mounts["/tmp"]]


def test_restricted_security_context(deployment: dict[str, Any]) -> None:
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    context = _container(deployment)["securityContext"]
    assert {key: context.get(key) for key in RESTRICTED_CONTAINER} == RESTRICTED_CONTAINER


def test_requests_and_limits(deployment: dict[str, Any]) -> None:
    resources = _container(deployment)["resources"]
    assert set(resources["requests"]) == {"cpu", "memory"}
    assert set(resources["limits"]) >= {"memory"}


def test_deploy_uses_the_dev_image(kustomized: Documents) -> None:
    deployment = find(kustomized, "Deployment", "kubernaut-wfe-controller")
    assert _container(deployment)["image"] == "kubernaut-wfe:dev"


def test_deploy_execution_namespace_enforces_restricted(kustomized: Documents) -> None:
    labels = find(kustomized, "Namespace", "kubernaut-workflows")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_deploy_renders_every_object(kustomized: Documents) -> None:
    kinds = sorted((d["kind"], d["metadata"]["name"]) for d in kustomized)
    assert kinds == sorted(
        [
            ("ClusterRole", "kubernaut-wfe-controller"),
            ("ClusterRoleBinding", "kubernaut-wfe-controller"),
            ("ConfigMap", "kubernaut-wfe-config"),
            ("CustomResourceDefinition", "workflowexecutions.kubernaut.ai"),
            ("Deployment", "kubernaut-wfe-controller"),
            ("Namespace", "kubernaut-system"),
            ("Namespace", "kubernaut-workflows"),
            ("Role", "kubernaut-wfe-execution"),
            ("Role", "kubernaut-wfe-leader-election"),
            ("RoleBinding", "kubernaut-wfe-execution"),
            ("RoleBinding", "kubernaut-wfe-leader-election"),
            ("ServiceAccount", "kubernaut-wfe-controller"),
            ("ServiceAccount", "kubernaut-workflow-runner"),
        ]
    )


def test_deploy_config_is_the_controllers_default(kustomized: Documents) -> None:
    from kubernaut_wfe.core.config import load_config

    text = find(kustomized, "ConfigMap", "kubernaut-wfe-config")["data"]["config.yaml"]
    assert load_config(text) == load_config(None)
