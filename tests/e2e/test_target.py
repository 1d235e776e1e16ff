"""Reading the `kind` target from the environment and a sandbox's target from its state file
(pure; runs on every target)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from .target import HELLO_BUNDLE, TargetError, state_target, target_from_env  # noqa: TID252


def kubeconfig(tmp_path: Path) -> str:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:6443/"}}],
        "users": [{"name": "u", "user": {"token": "secret"}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return str(path)


def test_the_documented_names(tmp_path: Path) -> None:
    target = target_from_env(
        {
            "E2E_KUBECONFIG": kubeconfig(tmp_path),
            "E2E_AUDIT_URL": "http://127.0.0.1:18080/",
            "E2E_METRICS_URL": "http://127.0.0.1:19090/metrics",
            "E2E_HEALTH_URL": "http://127.0.0.1:18081",
        }
    )

    assert target.api_server == "http://127.0.0.1:6443"
    assert target.headers == {"Authorization": "Bearer secret"}
    assert target.audit_url == "http://127.0.0.1:18080"
    assert target.metrics_url == "http://127.0.0.1:19090/metrics"
    assert target.health_url == "http://127.0.0.1:18081"
    assert target.hello_bundle == HELLO_BUNDLE
    assert target.execution_namespace == "kubernaut-workflows"


def test_the_names_run_sh_exports(tmp_path: Path) -> None:
    target = target_from_env(
        {
            "KUBECONFIG": kubeconfig(tmp_path),
            "E2E_AUDIT_URL": "http://127.0.0.1:18080",
            "E2E_METRICS_URL": "http://127.0.0.1:19090",
            "E2E_PROBES_URL": "http://127.0.0.1:18081",
            "E2E_BUNDLE_REGISTRY": "172.18.0.2:5000",
            "E2E_EXECUTION_NAMESPACE": "runs",
        }
    )

    assert target.metrics_url == "http://127.0.0.1:19090/metrics"
    assert target.health_url == "http://127.0.0.1:18081"
    assert target.hello_bundle == "172.18.0.2:5000/kubernaut/workflows/hello-world:v1"
    assert target.failing_bundle == "172.18.0.2:5000/kubernaut/workflows/failing:v1"
    assert target.execution_namespace == "runs"


def test_missing_settings_are_named() -> None:
    with pytest.raises(TargetError) as raised:
        target_from_env({"E2E_AUDIT_URL": "http://a"})

    assert str(raised.value) == (
        "E2E_TARGET=kind needs E2E_KUBECONFIG or KUBECONFIG, E2E_METRICS_URL, "
        "E2E_HEALTH_URL or E2E_PROBES_URL (run tests/e2e/kind/run.sh)"
    )


def test_a_sandbox_state_file_gives_every_endpoint(tmp_path: Path) -> None:
    state = {
        "kubeconfig": kubeconfig(tmp_path),
        "apiServer": "http://127.0.0.1:6443",
        "auditUrl": "http://127.0.0.1:18080",
        "metricsUrl": "http://127.0.0.1:19090/metrics",
        "healthUrl": "http://127.0.0.1:18081",
        "executionNamespace": "runs",
        "api": "cluster",
    }

    target = state_target("cluster", state)

    assert target.name == "cluster"
    assert target.api_server == "http://127.0.0.1:6443"
    assert target.headers == {"Authorization": "Bearer secret"}
    assert target.audit_url == "http://127.0.0.1:18080"
    assert target.metrics_url == "http://127.0.0.1:19090/metrics"
    assert target.health_url == "http://127.0.0.1:18081"
    assert target.execution_namespace == "runs"
