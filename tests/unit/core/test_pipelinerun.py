from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kubernaut_wfe.core.config import ControllerConfig, load_config
from kubernaut_wfe.core.pipelinerun import build_pipelinerun, holder_of, owned_by
from kubernaut_wfe.core.validation import parse_wfe

from .conftest import NOW  # noqa: TID252

Factory = Callable[..., dict[str, Any]]
DIGEST = "sha256:" + "ab" * 32


def _build(raw: dict[str, Any], config: ControllerConfig) -> dict[str, Any]:
    return build_pipelinerun(parse_wfe(raw), config, now=NOW)


def test_identity_namespace_and_kind(make_wfe: Factory, config: ControllerConfig) -> None:
    run = _build(make_wfe(namespace="team-a"), config)
    assert run["apiVersion"] == "tekton.dev/v1"
    assert run["kind"] == "PipelineRun"
    assert run["metadata"]["name"] == "wfe-f3457dcc8fbcb6d9"
    assert run["metadata"]["namespace"] == "kubernaut-workflows"
    assert "ownerReferences" not in run["metadata"]


def test_execution_namespace_from_config(make_wfe: Factory) -> None:
    config = load_config(None, {"execution.namespace": "runs"})
    assert _build(make_wfe(), config)["metadata"]["namespace"] == "runs"


def test_four_labels_sanitised(make_wfe: Factory, config: ControllerConfig) -> None:
    raw = make_wfe(name="restart-nginx", namespace="default")
    raw["spec"]["workflowRef"]["workflowId"] = "restart/pod:v2"
    assert _build(raw, config)["metadata"]["labels"] == {
        "kubernaut.ai/workflow-execution": "restart-nginx",
        "kubernaut.ai/source-namespace": "default",
        "kubernaut.ai/workflow-id": "restart_pod_v2",
        "kubernaut.ai/target-resource": "default__deployment__nginx",
    }


def test_three_annotations_exact(make_wfe: Factory, config: ControllerConfig) -> None:
    long_target = "ns/deployment/" + "x" * 100
    run = _build(make_wfe(target=long_target, uid="u-1"), config)
    assert run["metadata"]["annotations"] == {
        "kubernaut.ai/target-resource": long_target,
        "kubernaut.ai/workflow-execution": "default/restart-nginx",
        "kubernaut.ai/workflow-execution-uid": "u-1",
    }
    assert len(run["metadata"]["labels"]["kubernaut.ai/target-resource"]) <= 63


def test_bundles_resolver(make_wfe: Factory, config: ControllerConfig) -> None:
    assert _build(make_wfe(), config)["spec"]["pipelineRef"] == {
        "resolver": "bundles",
        "params": [
            {"name": "bundle", "value": "quay.io/acme/restart-workflow:v1"},
            {"name": "name", "value": "workflow"},
            {"name": "kind", "value": "pipeline"},
        ],
    }


@pytest.mark.parametrize(
    ("image", "digest", "bundle"),
    [
        ("quay.io/acme/wf:v1", DIGEST, f"quay.io/acme/wf:v1@{DIGEST}"),
        ("quay.io/acme/wf", DIGEST, f"quay.io/acme/wf@{DIGEST}"),
        (f"quay.io/acme/wf:v1@{DIGEST}", DIGEST, f"quay.io/acme/wf:v1@{DIGEST}"),
        ("quay.io/acme/wf:v1", None, "quay.io/acme/wf:v1"),
    ],
)
def test_digest_pinning_keeps_tag(
    make_wfe: Factory, config: ControllerConfig, image: str, digest: str | None, bundle: str
) -> None:
    raw = make_wfe()
    raw["spec"]["workflowRef"]["containerImage"] = image
    if digest:
        raw["spec"]["workflowRef"]["containerDigest"] = digest
    assert _build(raw, config)["spec"]["pipelineRef"]["params"][0]["value"] == bundle


def test_params_sorted_by_code_point_then_target(
    make_wfe: Factory, config: ControllerConfig
) -> None:
    raw = make_wfe()
    raw["spec"]["parameters"] = {"b": "2", "A": "1", "_z": "3", "a.b": "4"}
    params = _build(raw, config)["spec"]["params"]
    assert [p["name"] for p in params] == ["A", "_z", "a.b", "b", "TARGET_RESOURCE"]
    assert params[-1]["value"] == "default/deployment/nginx"


def test_no_parameters_only_target(make_wfe: Factory, config: ControllerConfig) -> None:
    raw = make_wfe()
    del raw["spec"]["parameters"]
    assert _build(raw, config)["spec"]["params"] == [
        {"name": "TARGET_RESOURCE", "value": "default/deployment/nginx"}
    ]


def test_runner_service_account_and_restricted_pods(
    make_wfe: Factory, config: ControllerConfig
) -> None:
    template = _build(make_wfe(), config)["spec"]["taskRunTemplate"]
    assert template == {
        "serviceAccountName": "kubernaut-workflow-runner",
        "podTemplate": {
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
        },
    }


def test_allowed_requested_service_account_is_used(make_wfe: Factory) -> None:
    config = load_config("execution: {allowed_service_accounts: [special]}")
    raw = make_wfe()
    raw["spec"]["executionConfig"] = {"serviceAccountName": "special"}
    assert _build(raw, config)["spec"]["taskRunTemplate"]["serviceAccountName"] == "special"


def test_timeout_from_execution_config(make_wfe: Factory, config: ControllerConfig) -> None:
    assert "timeouts" not in _build(make_wfe(), config)["spec"]
    raw = make_wfe()
    raw["spec"]["executionConfig"] = {"timeout": "30m"}
    assert _build(raw, config)["spec"]["timeouts"] == {"pipeline": "30m"}


def test_ownership_by_uid_annotation(make_wfe: Factory, config: ControllerConfig) -> None:
    wfe = parse_wfe(make_wfe(uid="u-1"))
    run = build_pipelinerun(wfe, config, now=NOW)
    assert owned_by(run, wfe)
    successor = parse_wfe(make_wfe(uid="u-2"))
    assert not owned_by(run, successor)
    assert not owned_by(run, parse_wfe(make_wfe(uid="")))
    assert not owned_by({"metadata": {}}, wfe)
    assert holder_of(run) == ("default", "restart-nginx", "u-1")


@pytest.mark.parametrize(
    "annotations",
    [
        {},
        {"kubernaut.ai/workflow-execution": "no-slash"},
        {"kubernaut.ai/workflow-execution": "/x"},
    ],
)
def test_holder_of_without_valid_annotation(annotations: dict[str, str]) -> None:
    assert holder_of({"metadata": {"annotations": annotations}}) is None
