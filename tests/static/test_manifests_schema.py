"""Every rendered manifest against the Kubernetes 1.31 schemas (strict: unknown fields fail);
custom resources against their own CRD schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from kubernaut_wfe_tools.crdschema import CustomResourceSchema, load_crd_documents

from .conftest import REPO_ROOT, Documents, Render, parse_documents  # noqa: TID252

KUBERNETES_VERSION = "1.31.0"
WFE_API_VERSION = "kubernaut.ai/v1alpha1"
UNCHECKED_API_GROUPS = {"monitoring.coreos.com"}
"""Third-party CRDs without a schema here (the Prometheus Operator's ServiceMonitor)."""


@pytest.fixture(scope="module")
def wfe_schema() -> CustomResourceSchema:
    crd = load_crd_documents(REPO_ROOT / "deploy" / "crds" / "kubernaut.ai_workflowexecutions.yaml")
    return CustomResourceSchema.for_served_versions(crd[0])["v1alpha1"]


def _label(doc: dict[str, Any]) -> str:
    return f"{doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}"


def _problems(documents: Documents, wfe_schema: CustomResourceSchema) -> Iterator[str]:
    for doc in documents:
        api_version = str(doc.get("apiVersion", ""))
        if api_version == WFE_API_VERSION:
            for error in wfe_schema.validate(doc):
                yield f"{_label(doc)}: {error}"
            continue
        if api_version.split("/", maxsplit=1)[0] in UNCHECKED_API_GROUPS:
            continue
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(part) for part in error.path)
            yield f"{_label(doc)}: {path}: {error.message}"
        except kubernetes_validate.SchemaNotFoundError:
            yield f"{_label(doc)}: no Kubernetes {KUBERNETES_VERSION} schema for {api_version}"


def test_the_default_chart_is_valid(render: Render, wfe_schema: CustomResourceSchema) -> None:
    documents = render(None)
    assert len(documents) >= 9
    assert list(_problems(documents, wfe_schema)) == []


def test_the_full_chart_is_valid(
    render: Render, full_values: dict[str, Any], wfe_schema: CustomResourceSchema
) -> None:
    documents = render(full_values)
    kinds = {doc["kind"] for doc in documents}
    assert {"ServiceMonitor", "NetworkPolicy", "Service", "Deployment", "Role"} <= kinds
    assert list(_problems(documents, wfe_schema)) == []


def test_the_chart_crd_is_valid(wfe_schema: CustomResourceSchema) -> None:
    crd_dir = REPO_ROOT / "charts" / "kubernaut-wfe" / "crds"
    documents = [d for p in sorted(crd_dir.glob("*.yaml")) for d in _load(p)]
    assert [d["kind"] for d in documents] == ["CustomResourceDefinition"]
    assert list(_problems(documents, wfe_schema)) == []


def test_the_kustomization_is_valid(
    kustomized: Documents, wfe_schema: CustomResourceSchema
) -> None:
    assert list(_problems(kustomized, wfe_schema)) == []


def test_the_example_workflow_executions_are_valid(wfe_schema: CustomResourceSchema) -> None:
    examples = sorted((REPO_ROOT / "examples").glob("*.yaml"))
    documents = [d for p in examples for d in _load(p)]
    assert len(documents) == len(examples) > 0
    assert {d["apiVersion"] for d in documents} == {WFE_API_VERSION}
    assert list(_problems(documents, wfe_schema)) == []


def test_a_broken_manifest_is_caught(wfe_schema: CustomResourceSchema, render: Render) -> None:
    deployment = next(d for d in render(None) if d["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["pathh"] = (
        "/"
    )
    bad_wfe = {"apiVersion": WFE_API_VERSION, "kind": "WorkflowExecution",
               "metadata": {"name": "x", "namespace": "default"}, "spec": {}}  # fmt: skip
    problems = list(_problems([deployment, bad_wfe], wfe_schema))
    assert len(problems) >= 2
    assert any("pathh" in p for p in problems)
    assert any(p.startswith("WorkflowExecution/x") for p in problems)


def _load(path: Path) -> Documents:
    return parse_documents(path.read_text(encoding="utf-8"))
