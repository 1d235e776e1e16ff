"""The Helm chart: lint, render, values schema, CRD copy, and what the controller reads."""

from __future__ import annotations

import copy
import filecmp
from typing import Any

import helm_python as helm
import pytest
import yaml

from kubernaut_wfe.core.config import load_config
from kubernaut_wfe.core.config_keys import KEY_SPELLINGS
from kubernaut_wfe_tools.testing.trees import dotted_leaves

from .conftest import CHART_DIR, REPO_ROOT, Documents, Render, find  # noqa: TID252

CRD_NAME = "kubernaut.ai_workflowexecutions.yaml"


@pytest.mark.parametrize("full", [False, True], ids=["defaults", "values-full"])
def test_the_chart_lints_clean(full: bool, full_values: dict[str, Any]) -> None:
    report = helm.lint(
        CHART_DIR, full_values if full else None, strict=True, kube_version="v1.31.0"
    )
    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert report["errors"] == [], report
    assert problems == [], report


def test_the_chart_crd_is_the_deploy_crd() -> None:
    source = REPO_ROOT / "deploy" / "crds" / CRD_NAME
    copy_in_chart = CHART_DIR / "crds" / CRD_NAME
    assert filecmp.cmp(source, copy_in_chart, shallow=False), (
        f"{copy_in_chart.relative_to(REPO_ROOT)} differs from {source.relative_to(REPO_ROOT)}: "
        "run `make generate`, or copy it: "
        f"cp {source.relative_to(REPO_ROOT)} {copy_in_chart.relative_to(REPO_ROOT)}"
    )
    assert sorted(p.name for p in (CHART_DIR / "crds").iterdir()) == [CRD_NAME]


def _bad(path: str, value: Any) -> dict[str, Any]:
    """Values with `value` at the dotted `path` (the rest are the chart's defaults)."""
    *parents, leaf = path.split(".")
    values: dict[str, Any] = {}
    node = values
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value
    return values


BAD_VALUES = [
    ("unknown top-level key", _bad("replicas", 2), "replicas"),
    ("unknown config section", _bad("config.executor", {}), "executor"),
    ("unknown config key", _bad("config.execution.cooldown", "5m"), "cooldown"),
    ("unknown image key", _bad("image.name", "x"), "name"),
    ("two replicas without leader election", _bad("replicaCount", 2), "/replicaCount"),
    (
        "rolling update without leader election",
        _bad("strategy.type", "RollingUpdate"),
        "/strategy/type",
    ),
    ("no replica", {"leaderElection": {"enabled": True}, "replicaCount": 0}, "/replicaCount"),
    (
        "unknown strategy",
        {"leaderElection": {"enabled": True}, "strategy": {"type": "Blue"}},
        "/strategy/type",
    ),
    ("cooldown not a duration", _bad("config.execution.cooldownPeriod", "soon"), "cooldown"),
    (
        "batch size over the API's limit",
        _bad("config.datastorage.buffer.batchSize", 1001),
        "batchSize",
    ),
    ("buffer size as text", _bad("config.datastorage.buffer.bufferSize", "many"), "bufferSize"),
    ("flag as text", _bad("leaderElection.enabled", "yes"), "/leaderElection/enabled"),
    ("url without scheme", _bad("config.datastorage.url", "datastorage:8080"), "url"),
    ("bad digest", _bad("image.digest", "sha256:abc"), "/image/digest"),
    ("bad pull policy", _bad("image.pullPolicy", "Sometimes"), "pullPolicy"),
    ("bad namespace", _bad("config.execution.namespace", "Team_A"), "namespace"),
    ("bad bind address", _bad("config.controller.metricsAddr", "9090"), "metricsAddr"),
    ("audit service flag as number", _bad("auditService.enabled", 1), "auditService"),
    ("unknown resource", _bad("resources.requests.gpu", 1), "gpu"),
    ("namespaces not a list", _bad("config.controller.namespaces", "team-a"), "namespaces"),
    (
        "bad lease namespace",
        _bad("config.controller.leaderElectionNamespace", "Lease_NS"),
        "leaderElectionNamespace",
    ),
    (
        "lease duration not a duration",
        _bad("config.controller.leaderElectionLeaseDuration", "soon"),
        "leaderElectionLeaseDuration",
    ),
    (
        "retry period without unit",
        _bad("config.controller.leaderElectionRetryPeriod", 2),
        "leaderElectionRetryPeriod",
    ),
    ("watch timeout not a duration", _bad("config.controller.watchTimeout", "5d"), "watch"),
    ("snake_case key", _bad("config.execution.cooldown_period", "5m"), "cooldown_period"),
    ("negative max retries", _bad("config.datastorage.buffer.maxRetries", -1), "maxRetries"),
    ("unknown log level", _bad("config.logging.level", "verbose"), "level"),
    ("unknown log format", _bad("config.logging.format", "xml"), "format"),
    ("health URL without scheme", _bad("config.datastorage.healthUrl", "ds:8081"), "healthUrl"),
]


@pytest.mark.parametrize(
    ("values", "named"), [(v, n) for _, v, n in BAD_VALUES], ids=[i for i, _, _ in BAD_VALUES]
)
def test_bad_values_are_rejected_naming_the_key(
    values: dict[str, Any], named: str, render: Render, chart: helm.Chart
) -> None:
    with pytest.raises(helm.HelmValuesError, match=named):
        chart.validate_schema(chart.merge_values(values))
    with pytest.raises(helm.HelmValuesError, match=named):
        render(values)


def test_the_full_values_pass_the_schema(chart: helm.Chart, full_values: dict[str, Any]) -> None:
    chart.validate_schema(chart.merge_values(full_values))


def test_standbys_and_rolling_updates_come_with_leader_election(render: Render) -> None:
    values = {
        "leaderElection": {"enabled": True},
        "replicaCount": 2,
        "strategy": {"type": "RollingUpdate"},
    }
    deployment = find(render(values), "Deployment", "kubernaut-wfe-controller")
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"] == {"type": "RollingUpdate"}
    config = _config(render(values))
    assert config["controller"]["leaderElection"] is True


def _config(documents: Documents) -> dict[str, Any]:
    config_map = find(documents, "ConfigMap", "kubernaut-wfe-config")
    loaded: dict[str, Any] = yaml.safe_load(config_map["data"]["config.yaml"])
    return loaded


def test_the_default_config_is_the_controllers_default(render: Render) -> None:
    text = yaml.safe_dump(_config(render(None)))
    assert load_config(text) == load_config(None)


def test_the_config_file_is_in_the_platforms_spelling(render: Render) -> None:
    rendered = _config(render(None))
    written = dotted_leaves(rendered)
    assert written <= {entry.platform for entry in KEY_SPELLINGS}
    assert "datastorage.buffer.maxRetries" in written


def _rolling_checksum(documents: Documents) -> str:
    deployment = find(documents, "Deployment", "kubernaut-wfe-controller")
    checksum: str = deployment["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    return checksum


def test_only_a_change_the_controller_cannot_apply_rolls_the_pods(render: Render) -> None:
    default = _rolling_checksum(render(None))
    assert _rolling_checksum(render(_bad("config.logging.level", "DEBUG"))) == default
    assert _rolling_checksum(render(_bad("config.logging.format", "console"))) != default
    assert _rolling_checksum(render(_bad("config.execution.cooldownPeriod", "1m"))) != default


def test_the_full_config_reaches_the_controller(
    render: Render, full_values: dict[str, Any]
) -> None:
    documents = render(full_values)
    config = load_config(yaml.safe_dump(_config(documents)))
    assert config.execution.namespace == "remediation-runs"
    assert config.execution.service_account == "remediation-runner"
    assert config.execution.allowed_service_accounts == ("remediation-runner-privileged",)
    assert config.execution.cooldown_period.total_seconds() == 120
    assert config.execution.job_active_deadline.total_seconds() == 2700
    assert config.audit.ca_file == "/var/run/kubernaut/ca/ca.crt"
    assert config.audit.token_file == "/var/run/kubernaut/token/token"
    assert config.audit.datastorage_health_url == (
        "https://datastorage.kubernaut-system.svc:8081/readyz"
    )
    assert config.audit.require_datastorage_for_readiness is True
    assert (config.audit.buffer_size, config.audit.batch_size) == (20000, 500)
    assert config.audit.max_retries == 5
    assert config.audit.datastorage_contract == "2026-01"
    assert (config.logging.level, config.logging.format) == ("DEBUG", "text")
    assert config.controller.leader_election is True
    assert config.controller.leader_election_namespace == "kubernaut-leases"
    assert config.controller.leader_election_lease_duration.total_seconds() == 30
    assert config.controller.leader_election_renew_deadline.total_seconds() == 20
    assert config.controller.leader_election_retry_period.total_seconds() == 4
    assert config.controller.watch_timeout.total_seconds() == 600
    assert config.controller.namespaces == ("team-a", "team-b")
    # the in-cluster audit service replaces the external DataStorage URL
    assert config.audit.datastorage_url == "http://kubernaut-wfe-audit.kubernaut-system.svc:8080"
    deployment = find(documents, "Deployment", "kubernaut-wfe-controller")
    ports = {p["name"]: p["containerPort"] for p in _container(deployment)["ports"]}
    assert ports == {"metrics": 9443, "probes": 8082}


@pytest.mark.parametrize(
    ("namespace", "lease_namespace"),
    [("", "kubernaut-system"), ("kubernaut-leases", "kubernaut-leases")],
    ids=["release namespace", "configured namespace"],
)
def test_the_lease_is_granted_where_the_controller_looks_for_it(
    render: Render, namespace: str, lease_namespace: str
) -> None:
    documents = render(_bad("config.controller.leaderElectionNamespace", namespace))
    for kind in ("Role", "RoleBinding"):
        grant = find(documents, kind, "kubernaut-wfe-leader-election")
        assert grant["metadata"]["namespace"] == lease_namespace
    configured = _config(documents)["controller"].get("leaderElectionNamespace")
    assert configured == (namespace or None)


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def test_the_image_reference(render: Render, full_values: dict[str, Any]) -> None:
    default = _container(find(render(None), "Deployment", "kubernaut-wfe-controller"))
    assert default["image"] == "kubernaut-wfe:0.1.0"
    pinned = _container(find(render(full_values), "Deployment", "kubernaut-wfe-controller"))
    assert pinned["image"] == (
        "registry.example.com/kubernaut/kubernaut-wfe:0.1.0@"
        "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    )
    assert pinned["imagePullPolicy"] == "Always"


def test_the_audit_service_runs_the_same_image(render: Render, full_values: dict[str, Any]) -> None:
    documents = render(full_values)
    audit = find(documents, "Deployment", "kubernaut-wfe-audit")
    container = _container(audit)
    assert (
        container["image"]
        == _container(find(documents, "Deployment", "kubernaut-wfe-controller"))["image"]
    )
    assert container["args"][0] == "audit-server"
    assert container["args"][container["args"].index("--database") + 1].startswith(
        "sqlite:////data/"
    )
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in audit["spec"]["template"]["spec"]["volumes"]}
    assert "emptyDir" in volumes[mounts["/data"]]
    service = find(documents, "Service", "kubernaut-wfe-audit")
    assert service["spec"]["ports"][0]["port"] == 8080


@pytest.mark.parametrize(
    ("kind", "switch"),
    [
        ("ServiceMonitor", "serviceMonitor"),
        ("NetworkPolicy", "networkPolicy"),
    ],
)
def test_optional_objects_follow_their_switch(
    render: Render, full_values: dict[str, Any], kind: str, switch: str
) -> None:
    assert not [d for d in render(None) if d["kind"] == kind]
    assert len([d for d in render(full_values) if d["kind"] == kind]) == 1
    values = copy.deepcopy(full_values)
    values[switch]["enabled"] = False
    assert not [d for d in render(values) if d["kind"] == kind]


def test_the_execution_namespace_enforces_the_chosen_pod_security(
    render: Render, full_values: dict[str, Any]
) -> None:
    default = find(render(None), "Namespace", "kubernaut-workflows")
    assert default["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    full = render(full_values)
    assert (
        find(full, "Namespace", "remediation-runs")["metadata"]["labels"][
            "pod-security.kubernetes.io/enforce"
        ]
        == "baseline"
    )
    runner = find(full, "ServiceAccount", "remediation-runner")
    assert runner["metadata"]["namespace"] == "remediation-runs"
    without = render({"executionNamespace": {"create": False}})
    assert not [d for d in without if d["kind"] == "Namespace"]


def test_the_notes_render(chart: helm.Chart) -> None:
    notes = chart.render(None, name="kubernaut-wfe", namespace="ops")[
        "kubernaut-wfe/templates/NOTES.txt"
    ]
    assert "kubectl -n ops rollout status deployment/kubernaut-wfe-controller" in notes
    assert "kubectl apply -f crds/" in notes
