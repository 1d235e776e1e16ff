"""What any run says, whichever engine runs it: whether it ended, whether it succeeded, and the
request that stops it. A PipelineRun answers through its `Succeeded` condition and
`spec.status`; a Job through its terminal conditions (`Complete`, `Failed`) and `spec.suspend`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from kubernaut_wfe.constants import CANCEL_REQUESTS, ConditionStatus, JobConditionType, RunKind
from kubernaut_wfe.core import tekton
from kubernaut_wfe.core.actions import CancelRun, kind_of_run


def _job_condition(job: tekton.Document, kind: JobConditionType) -> bool:
    conditions = tekton.status(job).get("conditions")
    return isinstance(conditions, list) and any(
        isinstance(item, Mapping)
        and item.get("type") == kind
        and item.get("status") == ConditionStatus.TRUE
        for item in conditions
    )


def is_finished(run: tekton.Document) -> bool:
    """Whether the run's engine decided its outcome."""
    if kind_of_run(run) == RunKind.JOB:
        return _job_condition(run, JobConditionType.COMPLETE) or _job_condition(
            run, JobConditionType.FAILED
        )
    return tekton.is_finished(run)


def has_succeeded(run: tekton.Document) -> bool:
    """Whether the run ended in success."""
    if kind_of_run(run) == RunKind.JOB:
        return _job_condition(run, JobConditionType.COMPLETE)
    condition = tekton.succeeded(run)
    return condition is not None and condition.status == ConditionStatus.TRUE


def stop_requested(run: tekton.Document) -> bool:
    """Whether someone already asked the run's engine to stop it."""
    if kind_of_run(run) == RunKind.JOB:
        spec: Any = run.get("spec")
        return isinstance(spec, Mapping) and spec.get("suspend") is True
    return tekton.spec_status(run) in CANCEL_REQUESTS


def stop_request(run: tekton.Document) -> CancelRun | None:
    """The request that stops the run, unless one was made already."""
    if stop_requested(run):
        return None
    namespace = str(tekton.metadata(run).get("namespace") or "")
    return CancelRun(namespace, tekton.name_of(run), kind_of_run(run))


END_TIME_SLACK = timedelta(seconds=1)
"""How much earlier than the WFE's start a run's end may be reported (whole seconds there,
fractions on the WFE) and still be believed."""
CLOCK_SKEW = timedelta(minutes=5)
"""How far ahead of ours the clock of the run's writer may be (DataStorage takes audit events
up to as far in the future)."""


def believable_end(reported: datetime | None, started: datetime | None, now: datetime) -> datetime:
    """When the run ended: the time its engine reports, unless that cannot be true (later than
    now and a clock's skew, or before the WFE started: a writer or a clock gone wrong), and then
    now. The WFE's
    completionTime, its cooldown and its audit events' timestamps follow from it, so a time
    years away would hold the target's lock for years, or have DataStorage refuse the events."""
    if reported is None or reported > now + CLOCK_SKEW:
        return now
    if started is not None and reported < started - END_TIME_SLACK:
        return now
    return reported
