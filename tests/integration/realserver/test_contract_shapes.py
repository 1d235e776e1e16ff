"""The WorkflowExecution CRD on the real API server accepts both contract shapes of
`spec.workflowRef`: every catalog-snapshot variant and every January example is admitted (a
dry-run create) and stored as sent, the shape refusals come with their messages (and
`kubernaut-wfe validate`'s schema checker gives the same causes), and `kubectl explain`
documents the new fields."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from kubernaut_wfe_tools.crdschema import CustomResourceSchema, load_crd_documents
from kubernaut_wfe_tools.testing.catalog_fixtures import (
    EVERY_OPTIONAL_FIELD,
    REMOVE,
    catalog_variant,
    catalog_wfe,
)
from kubernaut_wfe_tools.testing.testcluster import TestCluster
from kubernaut_wfe_tools.testing.testcluster.cluster import CRD_DIR

pytestmark = pytest.mark.timeout(120)

REPO_ROOT = Path(__file__).resolve().parents[3]
JANUARY_EXAMPLES = {
    path.name: yaml.safe_load(path.read_text(encoding="utf-8"))
    for path in sorted((REPO_ROOT / "examples").glob("*.yaml"))
}
COLLECTION = "/apis/kubernaut.ai/v1alpha1/namespaces/default/workflowexecutions"
DRY_RUN = {"dryRun": "All"}

ADMITTED: dict[str, dict[str, Any]] = {
    "base": {},
    "every-optional-field": dict(EVERY_OPTIONAL_FIELD),
    "declared-names-absent": {"workflowRef.declaredParameterNames": REMOVE},
    "declared-names-null": {"workflowRef.declaredParameterNames": None},
    "declared-names-empty": {"workflowRef.declaredParameterNames": {}},
    "declared-names-map": {
        "workflowRef.declaredParameterNames": {"DELAY_SECONDS": True, "X": False}
    },
    "dependencies": {
        "workflowRef.dependencies": {"secrets": [{"name": "s1"}], "configMaps": [{"name": "c.1"}]}
    },
    "resources": {
        "workflowRef.resources": {
            "limits": {"cpu": 2, "memory": "1Gi", "nvidia.com/gpu": 1},
            "requests": {"cpu": "250m", "memory": 134217728},
            "claims": [{"name": "gpu"}, {"name": "fpga", "request": "one"}],
        }
    },
    "engine-config": {
        "workflowRef.engineConfig": {"jobTemplateName": "t", "deep": {"list": [1, "a", None, {}]}}
    },
    "engine-config-scalar": {"workflowRef.engineConfig": "playbook.yml"},
    "times-out-at": {"timesOutAt": "2026-08-22T10:30:00Z"},
    "cluster-id": {"clusterID": "spoke-cluster-1"},
    "cluster-id-empty": {"clusterID": ""},
    "service-account-empty": {"workflowRef.serviceAccountName": ""},
    "engine-tekton": {"workflowRef.executionEngine": "tekton"},
    "engine-job": {"workflowRef.executionEngine": "job"},
    "engine-ansible": {"workflowRef.executionEngine": "ansible"},
    "engine-empty": {"workflowRef.executionEngine": ""},
    "engine-absent": {"workflowRef.executionEngine": REMOVE},
}

EXACTLY_ONE = (
    "exactly one of containerImage (January shape) or executionBundle (catalog snapshot) must be"
    " set"
)
REFUSED: dict[str, tuple[dict[str, Any], str, str]] = {
    "both-image-and-bundle": (
        {"workflowRef.containerImage": "quay.io/kubernaut/workflows/hello-world:v1"},
        "spec.workflowRef",
        EXACTLY_ONE,
    ),
    "neither-image-nor-bundle": (
        {"workflowRef.executionBundle": REMOVE},
        "spec.workflowRef",
        EXACTLY_ONE,
    ),
    "bundle-without-workflow-name": (
        {"workflowRef.workflowName": REMOVE},
        "spec.workflowRef",
        "workflowName and actionType are required with executionBundle (catalog snapshot)",
    ),
    "bundle-without-action-type": (
        {"workflowRef.actionType": REMOVE},
        "spec.workflowRef",
        "workflowName and actionType are required with executionBundle (catalog snapshot)",
    ),
    "unknown-engine": (
        {"workflowRef.executionEngine": "argo"},
        "spec.workflowRef.executionEngine",
        'Unsupported value: "argo": supported values: "", "tekton", "job", "ansible"',
    ),
    "digest-with-bundle": (
        {"workflowRef.containerDigest": "sha256:" + "0" * 64},
        "spec.workflowRef.containerDigest",
        "containerDigest pins containerImage and may be set only with it",
    ),
    "fractional-quantity": (
        {"workflowRef.resources": {"limits": {"cpu": 0.5}}},
        "spec.workflowRef.resources.limits.cpu",
        "must be of type integer,string",
    ),
    "duplicate-claim": (
        {"workflowRef.resources": {"claims": [{"name": "a"}, {"name": "a"}]}},
        "spec.workflowRef.resources.claims[1]",
        'Duplicate value: {"name":"a"}',
    ),
}


@pytest.fixture
async def client(cluster: TestCluster) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=cluster.url, verify=cluster.tls(), timeout=30) as http:
        yield http


@pytest.fixture(scope="module")
def schema() -> CustomResourceSchema:
    crd = load_crd_documents(CRD_DIR / "kubernaut.ai_workflowexecutions.yaml")[0]
    return CustomResourceSchema.from_crd(crd, "v1alpha1")


@pytest.mark.parametrize("changes", list(ADMITTED.values()), ids=list(ADMITTED))
async def test_catalog_snapshots_are_admitted_as_sent(
    client: httpx.AsyncClient, changes: dict[str, Any]
) -> None:
    document = catalog_variant(changes)
    answer = await client.post(COLLECTION, params=DRY_RUN, json=document)
    assert answer.status_code == 201, answer.text
    assert answer.headers.get("Warning") is None, answer.headers["Warning"]
    assert answer.json()["spec"] == document["spec"]  # nothing pruned, nested JSON kept


async def test_a_null_optional_field_is_dropped_by_the_server(client: httpx.AsyncClient) -> None:
    document = catalog_variant({"workflowRef.engineConfig": None})
    answer = await client.post(COLLECTION, params=DRY_RUN, json=document)
    assert answer.status_code == 201, answer.text
    assert answer.json()["spec"]["workflowRef"] == catalog_wfe()["spec"]["workflowRef"]


@pytest.mark.parametrize("document", list(JANUARY_EXAMPLES.values()), ids=list(JANUARY_EXAMPLES))
async def test_every_january_example_is_still_admitted(
    client: httpx.AsyncClient, document: dict[str, Any]
) -> None:
    answer = await client.post(COLLECTION, params=DRY_RUN, json=document)
    assert answer.status_code == 201, answer.text
    assert answer.json()["spec"] == document["spec"]


@pytest.mark.parametrize(("changes", "field", "message"), list(REFUSED.values()), ids=list(REFUSED))
async def test_shape_refusals_name_the_field_with_their_message(
    client: httpx.AsyncClient,
    schema: CustomResourceSchema,
    *,
    changes: dict[str, Any],
    field: str,
    message: str,
) -> None:
    document = catalog_variant(changes)
    answer = await client.post(COLLECTION, params=DRY_RUN, json=document)
    assert answer.status_code == 422, answer.text
    causes = answer.json()["details"]["causes"]
    assert any(c["field"] == field and message in c["message"] for c in causes), causes
    # `kubernaut-wfe validate` (and the emulator) answer with the same causes, in order
    stored = schema.default(schema.prune(document)[0])
    checker = [
        {"reason": str(e.reason), "message": e.message, "field": e.field}
        for e in schema.validate(stored)
    ]
    assert checker == causes


NEW_WORKFLOW_REF_FIELDS = (
    "workflowName",
    "actionType",
    "executionBundle",
    "executionBundleDigest",
    "executionEngine",
    "engineConfig",
    "serviceAccountName",
    "dependencies",
    "configMaps",
    "secrets",
    "resources",
    "limits",
    "requests",
    "claims",
    "declaredParameterNames",
)


def _kubectl_binaries(cluster: TestCluster) -> list[str]:
    """The server's own kubectl, and the machine's (1.32) when there is one."""
    found = shutil.which("kubectl")
    return [str(cluster.binaries / "kubectl"), *([found] if found else [])]


def test_kubectl_explain_lists_every_new_field(cluster: TestCluster) -> None:
    for binary in _kubectl_binaries(cluster):
        explained = _explain(cluster, binary, "workflowexecutions.spec.workflowRef", "--recursive")
        fields = explained.split("FIELDS:", 1)[1]
        listed = {line.split()[0] for line in fields.splitlines() if line.strip()}
        assert set(NEW_WORKFLOW_REF_FIELDS) <= listed, (binary, explained)
        spec = _explain(cluster, binary, "workflowexecutions.spec")
        assert "clusterID" in spec, (binary, spec)
        assert "timesOutAt" in spec, (binary, spec)


def test_kubectl_explain_prints_our_description_of_declared_parameter_names(
    cluster: TestCluster,
) -> None:
    for binary in _kubectl_binaries(cluster):
        explained = _explain(
            cluster, binary, "workflowexecutions.spec.workflowRef.declaredParameterNames"
        )
        text = " ".join(explained.split())
        assert "<map[string]boolean>" in text, explained
        assert "Absent or null: every parameter is passed to the run." in text, explained
        assert "({} passes none)" in text, explained


def _explain(cluster: TestCluster, binary: str, *args: str) -> str:
    result = subprocess.run(
        [binary, f"--kubeconfig={cluster.admin_kubeconfig}", "explain", *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, (binary, result.stderr)
    return result.stdout
