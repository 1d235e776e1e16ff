"""`kubernaut-wfe validate`'s checks (the CRD's schema and CEL, then the controller's rules) on
every WFE spec of the hostile-input corpus."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kubernaut_wfe.constants import FINALIZER, Phase
from kubernaut_wfe.core.actions import CreateRun, Decision
from kubernaut_wfe.core.config import load_config
from kubernaut_wfe.core.decisions import decide
from kubernaut_wfe.core.observation import Observation
from kubernaut_wfe_tools.commands.validate import validate_document
from kubernaut_wfe_tools.crdschema import CustomResourceSchema, load_crd_documents
from kubernaut_wfe_tools.testing.corpus import SpecCase, spec_cases

CRD = (
    Path(__file__).resolve().parents[3] / "deploy" / "crds" / "kubernaut.ai_workflowexecutions.yaml"
)
CASES = spec_cases()
NOW = datetime(2026, 8, 22, 10, 0, tzinfo=UTC)


def _first_decision(document: dict[str, Any]) -> Decision:
    """The controller's decision on the admitted WFE once its finalizer is on, target free,
    and no ServiceAccount a catalog snapshot may name in the execution namespace (the corpus's
    cluster has only the configured runner's, which is never read)."""
    stored = {**document, "metadata": {**document["metadata"], "finalizers": [FINALIZER]}}
    free = Observation(run=None, service_account=False)
    return decide(stored, free, load_config(None), NOW)


def _controller_failure(document: dict[str, Any]) -> str | None:
    """The reason the controller's decision fails the admitted WFE with, before any run."""
    decision = _first_decision(document)
    assert not any(isinstance(action, CreateRun) for action in decision.actions)
    status = decision.status
    assert status is not None
    assert status.phase == Phase.FAILED
    assert status.failure_details is not None
    return status.failure_details.reason.value


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
        assert _controller_failure(document) == case.controller
    else:  # admitted, or run and failed by what the run reports (not decidable offline)
        assert crd_fields == []
        assert fields == []
        assert isinstance(_first_decision(document).actions[0], CreateRun)
