"""The chart (default and full values) and the kustomize tree admitted by the real API server.
The chart installed and run for real, its controller pod included, and the uninstall steps of
`docs/deployment.md`: `tests/integration/install/`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kubernaut_wfe_tools.testing.install import render_chart as rendered_chart
from kubernaut_wfe_tools.testing.testcluster import TestCluster

pytestmark = pytest.mark.timeout(300)

REPO_ROOT = Path(__file__).resolve().parents[3]
FULL_VALUES = REPO_ROOT / "tests" / "static" / "values-full.yaml"


def render_chart(values: dict[str, Any] | None, into: Path) -> Path:
    """`helm template kubernaut-wfe -n kubernaut-system` as one multi-document file."""
    into.write_text(yaml.safe_dump_all(rendered_chart(values)), encoding="utf-8")
    return into


def test_the_kustomize_tree_and_the_full_chart_are_admitted(
    own_cluster: TestCluster, tmp_path: Path
) -> None:
    """Server-side dry runs: admission and validation by the real server, nothing stored. The
    full values' ServiceMonitor is left out (the test cluster has no prometheus-operator CRD)
    and the namespaces they name but do not create are made first."""
    kustomized = own_cluster.run_kubectl(
        "apply", "--server-side", "--dry-run=server", "-k", str(REPO_ROOT / "deploy")
    )
    assert kustomized.returncode == 0, kustomized.stderr
    full = yaml.safe_load(FULL_VALUES.read_text(encoding="utf-8"))
    rendered = render_chart(full, tmp_path / "chart-full.yaml")
    documents = list(yaml.safe_load_all(rendered.read_text(encoding="utf-8")))
    kept = [d for d in documents if d["kind"] != "ServiceMonitor"]
    assert len(documents) - len(kept) == 1
    rendered.write_text(yaml.safe_dump_all(kept), encoding="utf-8")
    lease_namespace = full["config"]["controller"]["leaderElectionNamespace"]
    for namespace in ("remediation-runs", "team-a", "team-b", lease_namespace):
        own_cluster.kubectl("create", "namespace", namespace)
    applied = own_cluster.run_kubectl(
        "apply", "--server-side", "--dry-run=server", "-f", str(rendered)
    )
    assert applied.returncode == 0, applied.stderr
