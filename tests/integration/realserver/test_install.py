"""The chart and the kustomize tree on the real API server, and the uninstall steps of
`docs/deployment.md` with the controller running: no WorkflowExecution left on its finalizer."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

from kubernaut_wfe_tools.testing.stack import wfe_body
from kubernaut_wfe_tools.testing.testcluster import TestCluster
from kubernaut_wfe_tools.testing.testcluster.cluster import CRD_DIR

from .conftest import server_stack  # noqa: TID252

pytestmark = pytest.mark.timeout(300)

REPO_ROOT = Path(__file__).resolve().parents[3]
CHART_DIR = REPO_ROOT / "charts" / "kubernaut-wfe"
FULL_VALUES = REPO_ROOT / "tests" / "static" / "values-full.yaml"


def render_chart(values: dict[str, Any] | None, into: Path) -> Path:
    """`helm template kubernaut-wfe -n kubernaut-system` as one multi-document file."""
    manifests = helm.Chart.load(CHART_DIR).render(
        values, name="kubernaut-wfe", namespace="kubernaut-system", is_install=True
    )
    documents = [
        document
        for path, text in sorted(manifests.items())
        if path.endswith(".yaml")
        for document in yaml.safe_load_all(text)
        if document
    ]
    into.write_text(yaml.safe_dump_all(documents), encoding="utf-8")
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


async def test_install_then_the_documented_uninstall_leaves_no_wfe_on_its_finalizer(
    own_cluster: TestCluster, tmp_path: Path
) -> None:
    cluster = own_cluster
    chart = render_chart(None, tmp_path / "chart.yaml")
    installed = cluster.run_kubectl("apply", "--server-side", "-f", str(chart))
    assert installed.returncode == 0, installed.stderr
    if cluster.run_kubectl("get", "namespace", "team-a").returncode != 0:
        cluster.kubectl("create", "namespace", "team-a")

    async with server_stack(cluster, tmp_path) as stack:
        await stack.start_controller()
        await stack.create(wfe_body("uninstall-done"))
        await stack.create(wfe_body("uninstall-running", namespace="team-a", delay_seconds=600))
        await stack.wait_phase("uninstall-done", "Completed")
        await stack.wait_phase("uninstall-running", "Running", namespace="team-a")

        # 1. every WFE, while the controller runs (kubectl waits in a thread: the fault proxy
        # and the audit service serve the controller from this event loop meanwhile)
        deleted = await asyncio.to_thread(
            cluster.run_kubectl,
            "delete", "workflowexecutions", "--all", "--all-namespaces", "--wait", "--timeout=90s",
        )  # fmt: skip
        assert deleted.returncode == 0, deleted.stderr + stack.controllers[0].log()[-4000:]
        left = cluster.kubectl("get", "workflowexecutions", "-A", "-o", "name")
        assert left.strip() == ""

    # 2. the controller (helm uninstall deletes what the chart rendered)
    uninstalled = cluster.run_kubectl("delete", "-f", str(chart), "--wait", "--timeout=90s")
    assert uninstalled.returncode == 0, uninstalled.stderr
    # 3. the CRD, which Helm keeps
    crd = cluster.run_kubectl("delete", "-f", str(CRD_DIR), "--wait", "--timeout=60s")
    assert crd.returncode == 0, crd.stderr
    gone = cluster.run_kubectl("get", "crd", "workflowexecutions.kubernaut.ai")
    assert gone.returncode != 0
    assert "NotFound" in gone.stderr
