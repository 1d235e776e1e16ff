"""The run-status corpus (`tests/corpus/run_statuses.yaml`): status documents of a WFE's
PipelineRun, Job or the Job's pod, written by someone playing Tekton, the Job controller or the
kubelet, each with what the WFE must get from it (`RunVerdict`)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

import yaml

from kubernaut_wfe.constants import FailureReason
from kubernaut_wfe_tools.testing import corpus


class StatusWriter(StrEnum):
    """Whose status a case of `run_statuses.yaml` writes (playing the object's own writer)."""

    PIPELINERUN = "pipelinerun"
    """The WFE's PipelineRun, as Tekton would."""
    JOB = "job"
    """The WFE's Job (`executionEngine: job`), as the Job controller would."""
    POD = "pod"
    """The Job's pod, as the kubelet would; the Job controller makes the Job of it."""


class RunVerdict(StrEnum):
    """What a WFE gets from the run status a case writes (`run_statuses.yaml`)."""

    FAILS = "fails"
    """It ends Failed with the case's `failureDetails.reason`, its status bounded."""
    COMPLETES = "completes"
    """It ends Completed."""
    WAITS = "waits"
    """The document says nothing conclusive: the WFE stays Running (no hot loop, no crash),
    and a well-formed final status written next ends it as that says."""


_RUN_STATUS_KEYS: Final = {"name", "run", "status", "outcome", "api_server"}


def expand_big(value: Any) -> Any:
    """The document with each `{big: N, text: T}` replaced by T repeated up to N characters."""
    if isinstance(value, dict):
        if set(value) == {"big", "text"}:
            size, text = value["big"], value["text"]
            return (text * (size // len(text) + 1))[:size]
        return {key: expand_big(item) for key, item in value.items()}
    if isinstance(value, list):
        return [expand_big(item) for item in value]
    return value


@dataclass(frozen=True)
class RunStatusCase:
    """One case of `run_statuses.yaml`: a run status document and what the WFE gets from it."""

    name: str
    writer: StatusWriter
    status: Any
    """The document written through the status subresource (`{big: …}` expanded)."""
    verdict: RunVerdict
    reason: str | None
    """The `failureDetails.reason` of `fails`; None otherwise."""
    refused_by_api_server: bool

    def written(self, stored: Mapping[str, Any]) -> Any:
        """The status to write over the object's `stored` one: the case's document, except that
        a Job keeps its `startTime` (immutable once set)."""
        document = copy.deepcopy(self.status)
        started = (stored.get("status") or {}).get("startTime")
        if self.writer == StatusWriter.JOB and isinstance(document, dict) and started:
            document.setdefault("startTime", started)
        return document


def _run_status_case(entry: dict[str, Any]) -> RunStatusCase:
    name = corpus.case_name(entry, _RUN_STATUS_KEYS)
    if "status" not in entry:
        raise ValueError(f"corpus case {name}: no status")
    outcome = entry.get("outcome")
    reason = None
    if isinstance(outcome, dict) and set(outcome) == {RunVerdict.FAILS.value}:
        verdict, reason = RunVerdict.FAILS, outcome[RunVerdict.FAILS.value]
        if reason not in set(FailureReason):
            raise ValueError(f"corpus case {name}: {reason!r} is no failureDetails.reason")
    elif outcome in (RunVerdict.COMPLETES, RunVerdict.WAITS):
        verdict = RunVerdict(outcome)
    else:
        raise ValueError(f"corpus case {name} must name its outcome: fails, completes or waits")
    if entry.get("api_server", "refuses") != "refuses":
        raise ValueError(f"corpus case {name}: api_server says only `refuses`")
    if entry.get("run") not in set(StatusWriter):
        raise ValueError(f"corpus case {name}: run is one of {[w.value for w in StatusWriter]}")
    return RunStatusCase(
        name=name,
        writer=StatusWriter(entry["run"]),
        status=expand_big(entry["status"]),
        verdict=verdict,
        reason=reason,
        refused_by_api_server="api_server" in entry,
    )


def run_status_cases() -> list[RunStatusCase]:
    """Every case of `tests/corpus/run_statuses.yaml`, each checked to name its outcome."""
    raw = yaml.safe_load((corpus.CORPUS_DIR / "run_statuses.yaml").read_text(encoding="utf-8"))
    return [_run_status_case(entry) for entry in raw]
