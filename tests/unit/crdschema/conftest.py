"""Fixtures of the crdschema tests: inline one-field CRDs and the real WorkflowExecution CRD."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from kubernaut_wfe_tools.crdschema import CustomResourceSchema, load_crd_documents

REPO_ROOT = Path(__file__).resolve().parents[3]
CRD_PATH = REPO_ROOT / "deploy" / "crds" / "kubernaut.ai_workflowexecutions.yaml"

SchemaFactory = Callable[[Mapping[str, Any]], CustomResourceSchema]


def crd_with_spec(spec_schema: Mapping[str, Any]) -> dict[str, Any]:
    """A minimal CRD `things.example.com` whose `spec` has the given schema."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "things.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"kind": "Thing", "plural": "things"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {"spec": dict(spec_schema), "status": {"type": "object"}},
                        }
                    },
                }
            ],
        },
    }


@pytest.fixture
def spec_schema() -> SchemaFactory:
    """Compile a CRD whose `spec` has the given schema."""

    def build(schema: Mapping[str, Any]) -> CustomResourceSchema:
        return CustomResourceSchema.from_crd(crd_with_spec(schema), "v1")

    return build


@pytest.fixture(scope="session")
def wfe_crd() -> dict[str, Any]:
    return load_crd_documents(CRD_PATH)[0]


@pytest.fixture(scope="session")
def wfe_schema(wfe_crd: dict[str, Any]) -> CustomResourceSchema:
    return CustomResourceSchema.from_crd(wfe_crd, "v1alpha1")


VALID_WFE: dict[str, Any] = {
    "apiVersion": "kubernaut.ai/v1alpha1",
    "kind": "WorkflowExecution",
    "metadata": {"name": "hello-world", "namespace": "default"},
    "spec": {
        "remediationRequestRef": {"name": "rr-hello-world"},
        "workflowRef": {
            "workflowId": "hello-world",
            "version": "1.0.0",
            "containerImage": "quay.io/kubernaut/workflows/hello-world:v1",
        },
        "targetResource": "default/deployment/nginx",
        "parameters": {"DELAY_SECONDS": "2"},
    },
}


@pytest.fixture
def wfe() -> dict[str, Any]:
    """A fresh valid WorkflowExecution to mutate."""
    return copy.deepcopy(VALID_WFE)
