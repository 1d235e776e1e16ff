"""The examples: every good one is valid, every bad one is rejected naming its field."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubernaut_wfe.constants import FailureReason, Phase
from kubernaut_wfe.core.validation import validate_wfe
from kubernaut_wfe_tools.commands.validate import validate_document
from kubernaut_wfe_tools.crdschema import CustomResourceSchema

REPO_ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = REPO_ROOT / "examples"
GOOD = sorted(EXAMPLES.glob("*.yaml"))
BAD = sorted((EXAMPLES / "bad").glob("*.yaml"))
FAILURE_MODES = (
    "exit",
    "oom",
    "timeout",
    "tasktimeout",
    "imagepull",
    "forbidden",
    "quota",
    "invalid",
    "missing",
)
OUTCOME = re.compile(
    r"^# outcome: phase=(\w+)(?: reason=(\w+) wasExecutionFailure=(true|false))?$", re.M
)
EXPECT = re.compile(r"^# expect: (\S+)$", re.M)


def _single_document(path: Path) -> dict[str, Any]:
    documents = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]
    assert len(documents) == 1, f"{path.name} must hold exactly one WorkflowExecution"
    document: dict[str, Any] = documents[0]
    return document


@pytest.mark.parametrize("path", GOOD, ids=[p.name for p in GOOD])
def test_good_example_passes_the_crd_and_the_controller(
    path: Path, schemas: dict[str, CustomResourceSchema]
) -> None:
    document = _single_document(path)
    schema = schemas["v1alpha1"]
    assert schema.validate(document) == []
    assert schema.prune(document)[1] == []
    assert validate_wfe(document) == []
    assert validate_document(document, schemas) == []


@pytest.mark.parametrize("path", BAD, ids=[p.name for p in BAD])
def test_bad_example_is_rejected_naming_its_field(
    path: Path, schemas: dict[str, CustomResourceSchema]
) -> None:
    text = path.read_text(encoding="utf-8")
    expect = EXPECT.search(text)
    assert expect is not None, f"{path.name} lacks its '# expect: <field>' line"
    field = expect[1]
    problems = validate_document(_single_document(path), schemas)
    assert field in [problem.field for problem in problems], problems
    if "# checked-by: controller" in text:
        return
    schema = schemas["v1alpha1"]
    document = _single_document(path)
    crd_fields = [error.field for error in schema.validate(document)]
    crd_fields += [unknown.lstrip(".") for unknown in schema.prune(document)[1]]
    assert field in crd_fields, f"the CRD alone must reject {path.name} at {field}"


def test_examples_cover_every_failure_mode() -> None:
    modes = {}
    for path in GOOD:
        spec = _single_document(path)["spec"]
        if spec["workflowRef"]["containerImage"].rsplit("/", 1)[1].split(":")[0] == "failing":
            modes[spec["parameters"]["FAILURE_MODE"]] = spec
    assert sorted(modes) == sorted(FAILURE_MODES)
    for mode in ("timeout", "quota"):
        assert modes[mode]["executionConfig"]["timeout"] == "10s"


def test_examples_have_distinct_names_and_targets() -> None:
    documents = [_single_document(path) for path in GOOD]
    targets = [d["spec"]["targetResource"] for d in documents]
    names = [d["metadata"]["name"] for d in documents]
    assert len(set(targets)) == len(targets)
    assert len(set(names)) == len(names)
    assert "node/worker-node-1" in targets


def test_hello_world_example_uses_the_hello_world_bundle() -> None:
    spec = _single_document(EXAMPLES / "hello-world.yaml")["spec"]
    assert spec["targetResource"] == "default/deployment/nginx"
    assert spec["workflowRef"]["containerImage"] == "quay.io/kubernaut/workflows/hello-world:v1"


@pytest.mark.parametrize("path", GOOD, ids=[p.name for p in GOOD])
def test_outcome_line_matches_the_readme(path: Path) -> None:
    outcome = OUTCOME.search(path.read_text(encoding="utf-8"))
    assert outcome is not None, f"{path.name} lacks its '# outcome: ...' line"
    phase, reason, was_execution_failure = outcome.groups()
    assert phase in {str(p) for p in Phase}
    row = next(
        (
            line
            for line in (EXAMPLES / "README.md").read_text(encoding="utf-8").splitlines()
            if line.startswith(f"| `{path.name}`")
        ),
        None,
    )
    assert row is not None, f"README.md does not list {path.name}"
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert cells[2] == phase
    if reason is None:
        assert phase == Phase.COMPLETED
        return
    assert reason in {str(r) for r in FailureReason}
    assert cells[3].split(" ")[0] == reason
    assert cells[4] == was_execution_failure


def test_readme_lists_every_bad_example() -> None:
    readme = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    missing = [path.name for path in BAD if f"`bad/{path.name}`" not in readme]
    assert missing == []
