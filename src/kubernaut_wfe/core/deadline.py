"""How long the run may take (platform contract §4, `timesOutAt`): the January
`executionConfig.timeout` (a duration from the run's start) and the catalog snapshot's
`spec.timesOutAt` (an absolute time), for every engine. The earlier deadline wins; a far deadline
is capped at the controller's maximum run timeout. Upstream ignores `timesOutAt` for Tekton; here
it becomes the PipelineRun's timeout, and a deadline already past fails the WFE without a run.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from kubernaut_wfe.core.durations import format_duration, parse_duration
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


def run_timeout(spec: WorkflowExecutionSpec, now: datetime, longest: timedelta) -> str | None:
    """The run's timeout as Go duration text, or None for the engine's default: the January
    timeout as written, or the time left until `timesOutAt` in whole seconds, whichever is
    shorter, and never more than `longest`."""
    written = spec.execution_config.timeout if spec.execution_config else None
    if spec.times_out_at is None:
        return written or None
    left = spec.times_out_at - now
    left = max(SHORTEST_RUN, timedelta(seconds=int(left.total_seconds())))
    if written and parse_duration(written) <= min(left, longest):
        return written
    return format_duration(min(left, longest))
