"""The CRD's schema, which every example is checked against."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubernaut_wfe_tools.crdschema import CustomResourceSchema, load_crd_documents

CRD = (
    Path(__file__).resolve().parents[3] / "deploy" / "crds" / "kubernaut.ai_workflowexecutions.yaml"
)


@pytest.fixture(scope="module")
def schemas() -> dict[str, CustomResourceSchema]:
    return CustomResourceSchema.for_served_versions(load_crd_documents(CRD)[0])
