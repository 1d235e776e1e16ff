"""RBAC of spec §8: exactly these rules, no wildcards, the same in the chart and in deploy/;
besides the ClusterRole, a Role for the Lease and one in the execution namespace (run identity,
issue #17: reading the ServiceAccount a catalog snapshot names). The Job engine (issue #18) adds
Jobs, the list and watch of their pods, and the list and watch of Warning Events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kubernaut_wfe.core.config import ControllerConfig, load_config

from .conftest import Documents, Render, find  # noqa: TID252

Rule = tuple[str, str, frozenset[str]]
"""(apiGroup, resource[/subresource], verbs): one resource per rule after expansion."""

SPEC_CLUSTER_RULES: set[Rule] = {
    ("kubernaut.ai", "workflowexecutions", frozenset({"get", "list", "watch", "patch", "update"})),
    ("kubernaut.ai", "workflowexecutions/status", frozenset({"get", "patch", "update"})),
    ("kubernaut.ai", "workflowexecutions/finalizers", frozenset({"update"})),
    (
        "tekton.dev",
        "pipelineruns",
        frozenset({"get", "list", "watch", "create", "delete", "patch"}),
    ),
    ("tekton.dev", "taskruns", frozenset({"get", "list", "watch"})),
    ("batch", "jobs", frozenset({"get", "list", "watch", "create", "delete", "patch"})),
    ("", "pods", frozenset({"list", "watch"})),
    ("", "events", frozenset({"create", "patch", "list", "watch"})),
    ("events.k8s.io", "events", frozenset({"create", "patch"})),
    ("apiextensions.k8s.io", "customresourcedefinitions", frozenset({"get", "list", "watch"})),
    ("", "namespaces", frozenset({"get", "list", "watch"})),
}
SPEC_LEASE_RULES: set[Rule] = {
    ("coordination.k8s.io", "leases", frozenset({"get", "create", "update"})),
    # The audit spool: a deleted WFE's undelivered events, in the controller's own namespace.
    ("", "configmaps", frozenset({"create", "list", "delete"})),
}
SPEC_EXECUTION_RULES: set[Rule] = {("", "serviceaccounts", frozenset({"get"}))}
LEASE_ROLE = "kubernaut-wfe-leader-election"
EXECUTION_ROLE = "kubernaut-wfe-execution"


def expand(rules: list[dict[str, Any]]) -> set[Rule]:
    """One entry per (group, resource), verbs merged, so that rule grouping does not matter."""
    merged: dict[tuple[str, str], set[str]] = {}
    for rule in rules:
        assert not rule.get("resourceNames"), rule
        assert not rule.get("nonResourceURLs"), rule
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                merged.setdefault((group, resource), set()).update(rule["verbs"])
    return {(group, resource, frozenset(verbs)) for (group, resource), verbs in merged.items()}


def _wildcards(rules: list[dict[str, Any]]) -> list[str]:
    return [
        f"{key}: {value}"
        for rule in rules
        for key in ("apiGroups", "resources", "verbs")
        for value in rule.get(key, [])
        if "*" in value
    ]


@pytest.fixture
def sources(
    render: Render, kustomized: Documents, full_values: dict[str, Any]
) -> dict[str, Documents]:
    return {"chart": render(None), "chart-full": render(full_values), "deploy": kustomized}


@pytest.mark.parametrize("source", ["chart", "chart-full", "deploy"])
def test_the_cluster_role_is_exactly_the_spec(sources: dict[str, Documents], source: str) -> None:
    role = find(sources[source], "ClusterRole")
    assert _wildcards(role["rules"]) == []
    assert expand(role["rules"]) == SPEC_CLUSTER_RULES


def _configured(documents: Documents) -> ControllerConfig:
    """The controller's configuration as it reads the ConfigMap (in either spelling)."""
    return load_config(find(documents, "ConfigMap", "kubernaut-wfe-config")["data"]["config.yaml"])


def _lease_namespace(documents: Documents) -> str:
    """The configured namespace of the Lease, else the controller's own."""
    return _configured(documents).controller.leader_election_namespace or "kubernaut-system"


def _execution_namespace(documents: Documents) -> str:
    return _configured(documents).execution.namespace


@pytest.mark.parametrize("source", ["chart", "chart-full", "deploy"])
@pytest.mark.parametrize(
    ("name", "namespace_of", "rules"),
    [
        (LEASE_ROLE, _lease_namespace, SPEC_LEASE_RULES),
        (EXECUTION_ROLE, _execution_namespace, SPEC_EXECUTION_RULES),
    ],
    ids=["lease", "execution"],
)
def test_each_role_is_namespaced_to_what_it_grants(
    sources: dict[str, Documents],
    source: str,
    name: str,
    namespace_of: Callable[[Documents], str],
    rules: set[Rule],
) -> None:
    documents = sources[source]
    role = find(documents, "Role", name)
    assert role["metadata"]["namespace"] == namespace_of(documents)
    assert _wildcards(role["rules"]) == []
    assert expand(role["rules"]) == rules
    binding = find(documents, "RoleBinding", name)
    assert binding["metadata"]["namespace"] == namespace_of(documents)
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": role["metadata"]["name"],
    }


@pytest.mark.parametrize("source", ["chart", "chart-full", "deploy"])
def test_only_two_roles_are_granted(sources: dict[str, Documents], source: str) -> None:
    kinds = ("Role", "RoleBinding")
    granted = sorted(
        (d["kind"], d["metadata"]["name"]) for d in sources[source] if d["kind"] in kinds
    )
    assert granted == sorted(
        (kind, name) for kind in kinds for name in (LEASE_ROLE, EXECUTION_ROLE)
    )


@pytest.mark.parametrize("source", ["chart", "chart-full", "deploy"])
def test_the_bindings_name_the_controllers_service_account(
    sources: dict[str, Documents], source: str
) -> None:
    documents = sources[source]
    account = find(documents, "ServiceAccount", "kubernaut-wfe-controller")
    subject = {
        "kind": "ServiceAccount",
        "name": account["metadata"]["name"],
        "namespace": account["metadata"]["namespace"],
    }
    cluster_binding = find(documents, "ClusterRoleBinding")
    assert cluster_binding["subjects"] == [subject]
    assert cluster_binding["roleRef"]["name"] == find(documents, "ClusterRole")["metadata"]["name"]
    for role in (LEASE_ROLE, EXECUTION_ROLE):
        assert find(documents, "RoleBinding", role)["subjects"] == [subject]
    deployment = find(documents, "Deployment", "kubernaut-wfe-controller")
    assert (
        deployment["spec"]["template"]["spec"]["serviceAccountName"] == account["metadata"]["name"]
    )


def test_chart_and_deploy_grant_the_same(render: Render, kustomized: Documents) -> None:
    chart, deploy = render(None), kustomized
    assert find(chart, "ClusterRole")["rules"] == find(deploy, "ClusterRole")["rules"]
    for role in (LEASE_ROLE, EXECUTION_ROLE):
        assert find(chart, "Role", role)["rules"] == find(deploy, "Role", role)["rules"]


@pytest.mark.parametrize("source", ["chart", "deploy"])
def test_the_runner_gets_no_permissions(sources: dict[str, Documents], source: str) -> None:
    documents = sources[source]
    runner = find(documents, "ServiceAccount", "kubernaut-workflow-runner")
    assert runner["metadata"]["namespace"] == "kubernaut-workflows"
    bound = [
        subject
        for doc in documents
        if doc["kind"] in ("RoleBinding", "ClusterRoleBinding")
        for subject in doc["subjects"]
    ]
    assert all(subject["name"] != "kubernaut-workflow-runner" for subject in bound)


def test_expand_catches_an_extra_verb() -> None:
    rules = [{"apiGroups": ["tekton.dev"], "resources": ["taskruns"], "verbs": ["get", "delete"]}]
    assert expand(rules) != {("tekton.dev", "taskruns", frozenset({"get"}))}
    assert _wildcards([{"apiGroups": ["*"], "resources": ["pods"], "verbs": ["get"]}]) == [
        "apiGroups: *"
    ]
