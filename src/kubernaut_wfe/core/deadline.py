"""How long the run may take (platform contract §4, `timesOutAt`): the January
`executionConfig.timeout` (a duration from the run's start) and the catalog snapshot's
`spec.timesOutAt` (an absolute time), for every engine. The earlier deadline wins; a far deadline
is capped at the controller's maximum run timeout. One computation for both engines: the
PipelineRun's `timeouts.pipeline` and the Job's `activeDeadlineSeconds`. Upstream ignores
`timesOutAt` for Tekton; here it becomes the PipelineRun's timeout, and a deadline already past
fails the WFE without a run.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from kubernaut_wfe.core.durations import DurationError, format_duration, parse_duration
from kubernaut_wfe.core.models import WorkflowExecutionSpec, format_time

SHORTEST_RUN = timedelta(seconds=1)
"""A deadline less than a second away still gets a run of one second (the run's unit)."""


def deadline_passed(spec: WorkflowExecutionSpec, now: datetime) -> str | None:
    """Why no run may be created any more (the deadline is past), or None."""
    deadline = spec.times_out_at
    if deadline is None or deadline - now >= SHORTEST_RUN:
        return None
    return (
        f"spec.timesOutAt ({format_time(deadline)}) passed before a run could be created;"
        " nothing was run"
    )


def run_deadline(
    spec: WorkflowExecutionSpec, now: datetime, longest: timedelta
) -> timedelta | None:
    """How long the run may take, for every engine, or None when the WFE sets no deadline: the
    January timeout, or the time left until `timesOutAt` in whole seconds (at least one),
    whichever is shorter, and never more than `longest`."""
    limits = []
    if (written := _written_timeout(spec)) is not None:
        limits.append(written)
    if spec.times_out_at is not None:
        left = int((spec.times_out_at - now).total_seconds())
        limits.append(max(SHORTEST_RUN, timedelta(seconds=left)))
    return min(*limits, longest) if limits else None


def run_timeout(spec: WorkflowExecutionSpec, now: datetime, longest: timedelta) -> str | None:
    """The PipelineRun's timeout as Go duration text (`run_deadline`), or None for Tekton's
    default; the January timeout is kept as written when it is the deadline."""
    deadline = run_deadline(spec, now, longest)
    if deadline is None:
        return None
    written = spec.execution_config.timeout if spec.execution_config else None
    if written and _written_timeout(spec) == deadline:
        return written
    return format_duration(deadline)


def _written_timeout(spec: WorkflowExecutionSpec) -> timedelta | None:
    text = spec.execution_config.timeout if spec.execution_config else None
    if not text:
        return None
    try:
        return parse_duration(text)
    except DurationError:
        return None  # validation refuses it; a run is never built for such a WFE
