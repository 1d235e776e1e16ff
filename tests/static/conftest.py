"""Offline checks of the deployment artefacts: the chart, deploy/ (kustomize), the Dockerfile."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = REPO_ROOT / "charts" / "kubernaut-wfe"
RELEASE = "kubernaut-wfe"
RELEASE_NAMESPACE = "kubernaut-system"

Documents = list[dict[str, Any]]
Render = Callable[[dict[str, Any] | None], Documents]


def parse_documents(text: str) -> Documents:
    """The non-empty YAML documents of a multi-document stream."""
    return [doc for doc in yaml.safe_load_all(text) if doc]


@pytest.fixture(scope="session")
def chart() -> helm.Chart:
    return helm.Chart.load(CHART_DIR)


@pytest.fixture(scope="session")
def render(chart: helm.Chart) -> Render:
    """Render the chart offline as `helm install kubernaut-wfe -n kubernaut-system` would."""

    def _render(values: dict[str, Any] | None) -> Documents:
        manifests = chart.render(values, name=RELEASE, namespace=RELEASE_NAMESPACE, is_install=True)
        documents: Documents = []
        for path, text in sorted(manifests.items()):
            if path.endswith(".yaml"):
                documents.extend(parse_documents(text))
        return documents

    return _render


@pytest.fixture(scope="session")
def full_values() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(
        (Path(__file__).parent / "values-full.yaml").read_text(encoding="utf-8")
    )
    return loaded


@pytest.fixture(scope="session")
def kustomized() -> Documents:
    """`kubectl kustomize deploy/` (kustomize is built into kubectl)."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        if os.environ.get("CI"):
            pytest.fail("kubectl is required in CI to render deploy/")
        pytest.skip("kubectl is not installed")
    completed = subprocess.run(
        [kubectl, "kustomize", str(REPO_ROOT / "deploy")],
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return parse_documents(completed.stdout)


def find(documents: Documents, kind: str, name: str | None = None) -> dict[str, Any]:
    """The one document of `kind` (and `name`); fails naming what was there."""
    matches = [
        doc
        for doc in documents
        if doc.get("kind") == kind and (name is None or doc["metadata"]["name"] == name)
    ]
    assert len(matches) == 1, (
        f"expected one {kind} {name or ''}, found {len(matches)} among "
        f"{sorted((d.get('kind'), d['metadata']['name']) for d in documents)}"
    )
    return matches[0]
