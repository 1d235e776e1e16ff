"""The CRD on the real API server: every example (the catalog snapshots too) admitted, every bad
example refused at the field `kubernaut-wfe validate` names (except those only the controller
checks), `kubectl explain`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kubernaut_wfe_tools.testing.testcluster import TestCluster
from kubernaut_wfe_tools.testing.testcluster.cluster import CRD_DIR

pytestmark = pytest.mark.timeout(120)

REPO_ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = REPO_ROOT / "examples"
GOOD = sorted(EXAMPLES.glob("*.yaml")) + sorted((EXAMPLES / "catalog").glob("*.yaml"))
BAD = sorted((EXAMPLES / "bad").glob("*.yaml"))
EXPECT = re.compile(r"^# expect: (\S+)$", re.M)
CHECKED_BY_CONTROLLER = "# checked-by: controller"


@pytest.mark.parametrize("path", GOOD, ids=[str(p.relative_to(EXAMPLES)) for p in GOOD])
def test_every_example_is_admitted(cluster: TestCluster, path: Path) -> None:
    result = cluster.run_kubectl("create", "--dry-run=server", "-f", str(path))
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr, result.stderr


@pytest.mark.parametrize("path", BAD, ids=[p.name for p in BAD])
def test_every_bad_example_is_refused_at_the_field_validate_names(
    cluster: TestCluster, path: Path
) -> None:
    text = path.read_text(encoding="utf-8")
    expect = EXPECT.search(text)
    assert expect is not None, f"{path.name} lacks its '# expect: <field>' line"
    validate = subprocess_validate(path)
    assert expect[1] in validate, f"`kubernaut-wfe validate` does not name {expect[1]}: {validate}"
    result = cluster.run_kubectl("create", "--dry-run=server", "-f", str(path))
    if CHECKED_BY_CONTROLLER in text:
        assert result.returncode == 0, f"the server must accept {path.name}: {result.stderr}"
        return
    assert result.returncode != 0, f"the server admitted {path.name}"
    assert expect[1] in result.stderr, result.stderr


def subprocess_validate(path: Path) -> str:
    """What `kubernaut-wfe validate` says of a file (it exits 1 for a bad one)."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "kubernaut_wfe", "validate", "-f", str(path)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1, result
    return result.stdout + result.stderr


def test_the_crd_is_applied_without_warnings(cluster: TestCluster) -> None:
    """A CEL rule over the cost budget or a schema the server must change is an error or a
    warning on apply: neither may appear."""
    result = cluster.run_kubectl("apply", "--server-side", "--dry-run=server", "-f", str(CRD_DIR))
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr


@pytest.mark.parametrize(
    ("field", "words"),
    [
        ("wfe.spec", ["remediationRequestRef", "workflowRef", "targetResource", "parameters"]),
        ("wfe.spec.workflowRef", ["containerImage", "workflowId", "version"]),
        ("wfe.status", ["phase", "conditions"]),
    ],
)
def test_kubectl_explain_documents_the_crd(
    cluster: TestCluster, field: str, words: list[str]
) -> None:
    explained = cluster.kubectl("explain", field)
    for word in words:
        assert word in explained, explained
