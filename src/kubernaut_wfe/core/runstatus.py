"""`status.pipelineRunStatus`: the summary of a PipelineRun kept on the WFE (spec §1)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from kubernaut_wfe.constants import TASKS_COMPLETED_PREFIX, ConditionStatus, TektonReason
from kubernaut_wfe.core import tekton
from kubernaut_wfe.core.conditions import truncate
from kubernaut_wfe.core.models import PipelineRunSummary

BLOCKING_REASONS: frozenset[str] = frozenset(
    {
        TektonReason.EXCEEDED_RESOURCE_QUOTA,
        TektonReason.EXCEEDED_NODE_RESOURCES,
        TektonReason.PULL_IMAGE_FAILED,
    }
)
"""Unknown TaskRun reasons that mean a child is stuck before running."""

SUMMARY_MESSAGE_MAX = 32768
SUMMARY_REASON_MAX = 1024
"""Kubernetes' bound on a condition's reason: a run's own reason is kept to it, whatever its
writer wrote."""
_COMPLETED_COUNT = re.compile(re.escape(TASKS_COMPLETED_PREFIX) + r"\s*(\d+)")


def completed_count(message: str) -> int | None:
    """N of Tekton's `Tasks Completed: N (...)` message, or None."""
    match = _COMPLETED_COUNT.search(message)
    return int(match.group(1)) if match else None


def blocked_child(
    run: tekton.Document, taskruns: Sequence[tekton.Document] | Mapping[str, tekton.Document]
) -> tuple[str, str] | None:
    """`(reason, message)` of the first child TaskRun stuck Unknown in a blocking state."""
    by_name = tekton.index_by_name(taskruns)
    ordered = [by_name[c.name] for c in tekton.taskrun_children(run) if c.name in by_name]
    listed = {tekton.name_of(t) for t in ordered}
    ordered += [t for name, t in by_name.items() if name not in listed]
    for taskrun in ordered:
        condition = tekton.succeeded(taskrun)
        if (
            condition is not None
            and condition.status == ConditionStatus.UNKNOWN
            and condition.reason in BLOCKING_REASONS
        ):
            return condition.reason, condition.message
    return None


def run_summary(
    run: tekton.Document,
    taskruns: Sequence[tekton.Document] | Mapping[str, tekton.Document] = (),
    previous: PipelineRunSummary | None = None,
) -> PipelineRunSummary:
    """The summary of a run; a blocked reason seen before is kept (Tekton erases it later)."""
    condition = tekton.succeeded(run)
    total = tekton.pipeline_task_total(run)
    if total is None:
        children = tekton.taskrun_children(run)
        total = len(children) if children else None
    message = condition.message if condition else ""
    blocked = blocked_child(run, taskruns)
    blocked_reason = previous.blocked_reason if previous else None
    blocked_message = previous.blocked_message if previous else None
    if blocked is not None:
        blocked_reason, blocked_message = blocked[0], truncate(blocked[1], SUMMARY_MESSAGE_MAX)
    return PipelineRunSummary(
        status=ConditionStatus(condition.status)
        if condition and condition.status in set(ConditionStatus)
        else ConditionStatus.UNKNOWN,
        reason=(truncate(condition.reason, SUMMARY_REASON_MAX) or None) if condition else None,
        message=truncate(message, SUMMARY_MESSAGE_MAX) or None,
        completed_tasks=completed_count(message),
        total_tasks=total,
        blocked_reason=blocked_reason,
        blocked_message=blocked_message,
    )


_NOT_YET_RUNNING_REASONS: frozenset[str | None] = frozenset(
    {
        None,
        TektonReason.STARTED,
        TektonReason.RESOLVING_PIPELINE_REF,
        TektonReason.PIPELINE_RUN_PENDING,
    }
)


def nothing_started(summary: PipelineRunSummary | None) -> bool:
    """Whether the last seen summary shows that no task had started (so nothing was changed).

    True before Tekton resolved the pipeline, and while every child was blocked before getting a
    pod (e.g. `ExceededResourceQuota`) with no task completed. Ambiguous cases count as started.
    """
    if summary is None:
        return True
    if summary.completed_tasks:
        return False
    if summary.reason in _NOT_YET_RUNNING_REASONS:
        return True
    return summary.blocked_reason in BLOCKING_REASONS - {TektonReason.PULL_IMAGE_FAILED}
