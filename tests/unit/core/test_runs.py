"""What any run says, whichever engine runs it (`core.runs`)."""

from __future__ import annotations

from typing import Any

import pytest

from kubernaut_wfe.constants import RunKind
from kubernaut_wfe.core import runs
from kubernaut_wfe.core.actions import CancelRun


def job(*conditions: tuple[str, str], suspend: bool | None = None) -> dict[str, Any]:
    spec = {} if suspend is None else {"suspend": suspend}
    return {
        "kind": "Job",
        "metadata": {"name": "wfe-1", "namespace": "exec"},
        "spec": spec,
        "status": {"conditions": [{"type": t, "status": s} for t, s in conditions]},
    }


def pipelinerun(status: str | None, spec_status: str = "") -> dict[str, Any]:
    conditions = [] if status is None else [{"type": "Succeeded", "status": status}]
    return {
        "kind": "PipelineRun",
        "metadata": {"name": "wfe-1", "namespace": "exec"},
        "spec": {"status": spec_status} if spec_status else {},
        "status": {"conditions": conditions},
    }


@pytest.mark.parametrize(
    ("run", "finished", "succeeded"),
    [
        (job(), False, False),
        (job(("SuccessCriteriaMet", "True")), False, False),
        (job(("FailureTarget", "True")), False, False),
        (job(("SuccessCriteriaMet", "True"), ("Complete", "True")), True, True),
        (job(("FailureTarget", "True"), ("Failed", "True")), True, False),
        (job(("Suspended", "True")), False, False),
        (pipelinerun(None), False, False),
        (pipelinerun("Unknown"), False, False),
        (pipelinerun("True"), True, True),
        (pipelinerun("False"), True, False),
    ],
)
def test_the_end_of_a_run_of_either_kind(
    run: dict[str, Any], finished: bool, succeeded: bool
) -> None:
    assert runs.is_finished(run) is finished
    assert runs.has_succeeded(run) is succeeded


def test_a_job_is_stopped_by_suspending_it_once() -> None:
    assert runs.stop_request(job()) == CancelRun("exec", "wfe-1", RunKind.JOB)
    assert runs.stop_request(job(suspend=True)) is None


def test_a_pipelinerun_is_stopped_by_cancelling_it_once() -> None:
    assert runs.stop_request(pipelinerun("Unknown")) == CancelRun("exec", "wfe-1")
    assert runs.stop_request(pipelinerun("Unknown", "Cancelled")) is None
