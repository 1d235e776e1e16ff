"""`kubernaut-wfe validate`'s checks (the CRD's schema and CEL, then the controller's rules) on
every WFE spec of the hostile-input corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubernaut_wfe.core.validation import validate_wfe
from kubernaut_wfe_tools.commands.validate import validate_document
from kubernaut_wfe_tools.crdschema import CustomResourceSchema, load_crd_documents
from kubernaut_wfe_tools.testing.corpus import SpecCase, spec_cases

CRD = (
    Path(__file__).resolve().parents[3] / "deploy" / "crds" / "kubernaut.ai_workflowexecutions.yaml"
)
CASES = spec_cases()


@pytest.fixture(scope="module")
def schemas() -> dict[str, CustomResourceSchema]:
    return CustomResourceSchema.for_served_versions(load_crd_documents(CRD)[0])


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_case_gets_its_outcome(
    case: SpecCase, schemas: dict[str, CustomResourceSchema]
) -> None:
    document = case.document()
    schema = schemas["v1alpha1"]
    crd_fields = [error.field for error in schema.validate(document)]
    crd_fields += [unknown.lstrip(".") for unknown in schema.prune(document)[1]]
    fields = [problem.field for problem in validate_document(document, schemas)]
    if case.refused_at is not None:
        assert case.refused_at in crd_fields, crd_fields
        assert case.refused_at in fields, fields
    elif case.controller is not None:
        assert crd_fields == []
        assert validate_wfe(document) != [], "the controller must refuse it"
    else:
        assert crd_fields == []
        assert fields == []
