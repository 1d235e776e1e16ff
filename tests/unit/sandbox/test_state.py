"""The pure helpers: the state file's shape, namespaces to create, correlation ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kubernaut_wfe_tools.sandbox.manifests import Manifest, namespaces_needed
from kubernaut_wfe_tools.sandbox.report import correlation_id
from kubernaut_wfe_tools.sandbox.stack import Endpoints

ENDPOINTS = Endpoints(
    pid=1,
    state_dir="/s",
    kubeconfig="/s/kubeconfig",
    api_server="http://127.0.0.1:1",
    audit_url="http://127.0.0.1:2",
    metrics_url="http://127.0.0.1:3/metrics",
    health_url="http://127.0.0.1:4",
    controller_pid=2,
    controller_log="/s/controller.log",
    execution_namespace="kubernaut-workflows",
)


def test_state_file_keys_are_camel_case_and_round_trip() -> None:
    document = ENDPOINTS.to_json()

    assert {"apiServer", "auditUrl", "metricsUrl", "healthUrl", "controllerPid"} <= set(document)
    assert Endpoints.from_json(document) == ENDPOINTS


def manifest(kind: str, name: str, namespace: str | None = None) -> Manifest:
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    return Manifest(Path("m.yaml"), 0, {"apiVersion": "v1", "kind": kind, "metadata": metadata})


def test_namespaces_needed_in_first_seen_order_without_those_the_manifests_create() -> None:
    manifests = [
        manifest("ConfigMap", "a", "team-b"),
        manifest("Namespace", "team-c"),
        manifest("ConfigMap", "b", "team-a"),
        manifest("ConfigMap", "c", "team-b"),
        manifest("ConfigMap", "d", "team-c"),
    ]

    assert namespaces_needed(manifests, ["kubernaut-workflows"]) == [
        "kubernaut-workflows",
        "team-b",
        "team-a",
    ]


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({"metadata": {"name": "w"}, "spec": {"remediationRequestRef": {"name": "rr"}}}, "rr"),
        ({"metadata": {"name": "w", "labels": {"kubernaut.ai/correlation-id": "c"}}}, "c"),
        ({"metadata": {"name": "w"}, "spec": {}}, "w"),
    ],
)
def test_correlation_id_falls_back_like_the_controller(obj: dict[str, Any], expected: str) -> None:
    assert correlation_id(obj) == expected
