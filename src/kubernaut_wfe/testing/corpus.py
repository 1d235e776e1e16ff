"""The hostile-input corpus of `tests/corpus/`: WorkflowExecution specs, each with the outcome it
must get (refused by the API server at a field, failed by the controller, or admitted)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
CORPUS_DIR = REPO_ROOT / "tests" / "corpus"
BASE_WFE = REPO_ROOT / "examples" / "hello-world.yaml"


@dataclass(frozen=True)
class SpecCase:
    """One case of `wfe_specs.yaml`."""

    name: str
    changes: dict[str, Any]
    refused_at: str | None = None
    controller: str | None = None
    admitted: bool = False

    def document(self, name: str | None = None, namespace: str = "default") -> dict[str, Any]:
        """The base WFE with this case's changes, named `name` (the case's name unless given)
        with a correlation id of its own unless the case sets one."""
        document: dict[str, Any] = copy.deepcopy(
            yaml.safe_load(BASE_WFE.read_text(encoding="utf-8"))
        )
        wfe_name = name or self.name
        document["metadata"] = {"name": wfe_name, "namespace": namespace}
        document["spec"]["remediationRequestRef"] = {"name": f"rr-{wfe_name}"}
        document["spec"]["targetResource"] = f"{namespace}/deployment/{wfe_name}"
        for dotted, value in self.changes.items():
            node = document["spec"]
            *parents, leaf = dotted.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            if value is None:
                node.pop(leaf, None)
            else:
                node[leaf] = value
        return document


def spec_cases() -> list[SpecCase]:
    """Every case of `tests/corpus/wfe_specs.yaml`, each checked to name exactly one outcome."""
    raw = yaml.safe_load((CORPUS_DIR / "wfe_specs.yaml").read_text(encoding="utf-8"))
    cases = []
    for entry in raw:
        case = SpecCase(
            name=entry["name"],
            changes=entry["set"],
            refused_at=entry.get("refused_at"),
            controller=entry.get("controller"),
            admitted=bool(entry.get("admitted", False)),
        )
        outcomes = [case.refused_at is not None, case.controller is not None, case.admitted]
        if sum(outcomes) != 1:
            raise ValueError(f"corpus case {case.name} must name exactly one outcome")
        cases.append(case)
    return cases
