"""The hostile-input corpus of `tests/corpus/`, each case with the outcome it must get:
WorkflowExecution specs (refused by the API server at a field, failed by the controller, or
admitted) and status written by someone else (`StatusOutcome`)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from enum import StrEnum
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


class StatusOutcome(StrEnum):
    """What a status written by someone else must lead to (`status_writes.yaml`)."""

    REFUSED = "refused"
    """The API server refuses the write."""
    REBUILT = "rebuilt"
    """Rebuilt from the run (a StatusRebuilt Event), which is followed to its end: one run."""
    STOPPED = "stopped"
    """The run is cancelled; the WFE stays Failed, gets a completionTime; the lock is released."""
    NOT_RUN_AGAIN = "not-run-again"
    """The WFE fails saying its run is gone and the workflow is not run again."""
    COMPLETES = "completes"
    """The run's end is mirrored and every audit event is stored once."""
    KEPT = "kept"
    """The WFE ends as it had ended (Completed, with a completionTime); nothing runs."""


class WriteStage(StrEnum):
    """When the write is made."""

    RUNNING = "running"
    RELEASED = "released"


@dataclass(frozen=True)
class StatusCase:
    """One case of `status_writes.yaml`."""

    name: str
    when: WriteStage
    merge: dict[str, Any] | None
    replace: dict[str, Any] | None
    outcome: StatusOutcome

    def written(self, current: dict[str, Any]) -> dict[str, Any]:
        """The status after the write, given the stored one."""
        if self.replace is not None:
            return copy.deepcopy(self.replace)
        status = copy.deepcopy(current)
        for key, value in (self.merge or {}).items():
            if value is None:
                status.pop(key, None)
            else:
                status[key] = value
        return status


def status_cases() -> list[StatusCase]:
    """Every case of `tests/corpus/status_writes.yaml`, each with exactly one kind of write."""
    raw = yaml.safe_load((CORPUS_DIR / "status_writes.yaml").read_text(encoding="utf-8"))
    cases = []
    for entry in raw:
        write = entry["write"]
        if len(write) != 1 or not set(write) <= {"merge", "replace"}:
            raise ValueError(f"corpus case {entry['name']} must write one merge or replace")
        cases.append(
            StatusCase(
                name=entry["name"],
                when=WriteStage(entry["when"]),
                merge=write.get("merge"),
                replace=write.get("replace"),
                outcome=StatusOutcome(entry["outcome"]),
            )
        )
    return cases
