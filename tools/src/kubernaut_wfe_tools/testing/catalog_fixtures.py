"""WorkflowExecutions in the catalog-snapshot shape, the one the orchestrator writes since August
2026 (`spec.workflowRef.executionBundle` plus the workflow's catalog entry), for every test that
needs one: `catalog_wfe()` is the base document, `catalog_variant()` derives the others from it.

The January shape (`workflowRef.containerImage`) is `examples/hello-world.yaml`."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Final

CATALOG_BUNDLE = "quay.io/kubernaut/workflows/hello-world:v1"
"""The hello-world Tekton bundle (one task, succeeds after DELAY_SECONDS), as executionBundle."""
CATALOG_WORKFLOW_ID = "3f8c2d4e-9a1b-4c6d-8e2f-5a7b9c1d3e5f"
"""A catalog id: the catalog names workflows by UUID."""


class _Remove:
    def __repr__(self) -> str:
        return "REMOVE"


REMOVE: Final = _Remove()
"""A value for `catalog_variant`: remove the key (None sets an explicit null)."""


def catalog_wfe(name: str = "catalog-hello-world", namespace: str = "default") -> dict[str, Any]:
    """A fresh catalog-snapshot WorkflowExecution, as the orchestrator writes one for a Tekton
    workflow: what it always sets, none of the optional catalog fields."""
    return {
        "apiVersion": "kubernaut.ai/v1alpha1",
        "kind": "WorkflowExecution",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "remediationRequestRef": {
                "apiVersion": "kubernaut.ai/v1alpha1",
                "kind": "RemediationRequest",
                "name": f"rr-{name}",
                "namespace": namespace,
            },
            "workflowRef": {
                "workflowId": CATALOG_WORKFLOW_ID,
                "workflowName": "hello-world",
                "actionType": "RestartPod",
                "version": "1.0.0",
                "executionBundle": CATALOG_BUNDLE,
                "executionBundleDigest": "sha256:" + "ab" * 32,
                "executionEngine": "tekton",
            },
            "targetResource": f"{namespace}/deployment/nginx",
            "parameters": {"DELAY_SECONDS": "2"},
            "confidence": 0.95,
            "rationale": "Smoke test of the catalog-snapshot shape; the workflow only echoes.",
        },
    }


EVERY_OPTIONAL_FIELD: Mapping[str, Any] = {
    "workflowRef.serviceAccountName": "kubernaut-workflow-runner",
    "workflowRef.engineConfig": {"playbookPath": "site.yml", "extra": {"nested": [1, {"a": None}]}},
    "workflowRef.dependencies": {
        "secrets": [{"name": "db-credentials"}],
        "configMaps": [{"name": "app-settings"}, {"name": "feature-flags"}],
    },
    "workflowRef.resources": {
        "limits": {"cpu": 1, "memory": "256Mi"},
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "claims": [{"name": "gpu", "request": "one"}],
    },
    "workflowRef.declaredParameterNames": {"DELAY_SECONDS": True, "UNUSED": False},
    "timesOutAt": "2026-08-22T10:30:00Z",
    "clusterID": "",
}
"""Every optional field of the catalog snapshot (and of spec), each with a valid value."""


def catalog_variant(
    changes: Mapping[str, Any], name: str = "catalog-variant", namespace: str = "default"
) -> dict[str, Any]:
    """`catalog_wfe(name, namespace)` with `changes` applied: dotted paths under `spec` mapped to
    their new value (a copy of it), or to `REMOVE` to take the key out."""
    document = catalog_wfe(name, namespace)
    for dotted, value in changes.items():
        node: dict[str, Any] = document["spec"]
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        if value is REMOVE:
            node.pop(leaf, None)
        else:
            node[leaf] = copy.deepcopy(value)
    return document
