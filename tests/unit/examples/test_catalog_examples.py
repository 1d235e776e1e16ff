"""The catalog-snapshot examples (`examples/catalog/`): valid for the CRD and the controller, each
outcome line in the README, and the run `render` prints for them."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubernaut_wfe.constants import FailureReason, Phase
from kubernaut_wfe.core.config import load_config
from kubernaut_wfe.core.engines import refusal
from kubernaut_wfe.core.pipelinerun import build_pipelinerun
from kubernaut_wfe.core.validation import parse_wfe, validate_wfe
from kubernaut_wfe_tools.commands.validate import validate_document
from kubernaut_wfe_tools.crdschema import CustomResourceSchema

REPO_ROOT = Path(__file__).resolve().parents[3]
CATALOG = REPO_ROOT / "examples" / "catalog"
EXAMPLES = sorted(CATALOG.glob("*.yaml"))
OUTCOME = re.compile(r"^# outcome: (.+)$", re.M)


def _document(path: Path) -> dict[str, Any]:
    (document,) = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    return dict(document)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_each_catalog_example_is_a_valid_catalog_snapshot(
    path: Path, schemas: dict[str, CustomResourceSchema]
) -> None:
    document = _document(path)
    schema = schemas["v1alpha1"]
    assert schema.validate(document) == []
    assert schema.prune(document)[1] == []
    assert validate_wfe(document) == []
    assert validate_document(document, schemas) == []
    assert "executionBundle" in document["spec"]["workflowRef"]
    assert "containerImage" not in document["spec"]["workflowRef"]


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_each_outcome_line_is_in_the_readme(path: Path) -> None:
    outcome = OUTCOME.search(path.read_text(encoding="utf-8"))
    assert outcome is not None, f"{path.name} lacks its '# outcome: ...' line"
    readme = (REPO_ROOT / "examples" / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if f"`catalog/{path.name}`" in line)
    fields = dict(item.split("=", 1) for item in outcome[1].split())
    if "pair" in fields:
        assert "Deduplicated" in row
        return
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[2] == fields["phase"]
    if fields["phase"] == Phase.FAILED:
        assert cells[3].split(" ")[0] == fields["reason"]
        assert cells[4] == fields["wasExecutionFailure"]


def test_the_unsupported_engine_example_is_refused_by_the_core() -> None:
    spec = parse_wfe(_document(CATALOG / "unsupported-engine.yaml")).spec
    refused = refusal(spec)
    assert refused is not None
    assert refused[0] == FailureReason.UNSUPPORTED_ENGINE


def test_the_hello_world_run_gets_only_what_its_catalog_declares() -> None:
    wfe = parse_wfe(_document(CATALOG / "hello-world.yaml"))
    run = build_pipelinerun(wfe, load_config(None), now=datetime.now(UTC))
    assert {p["name"]: p["value"] for p in run["spec"]["params"]} == {
        "DELAY_SECONDS": "2",
        "TARGET_RESOURCE": "default/deployment/catalog-hello",
    }
