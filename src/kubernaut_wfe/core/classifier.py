"""The failure classifier (spec §5): Tekton's reasons and step states first, keywords last."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kubernaut_wfe.constants import (
    EXCEEDED_QUOTA_TEXT,
    IS_FORBIDDEN_TEXT,
    ConditionStatus,
    FailureReason,
    StepReason,
    TektonReason,
)
from kubernaut_wfe.core import tekton

TaskRuns = Sequence[tekton.Document] | Mapping[str, tekton.Document]

SYNTHETIC_STEP_REASONS: frozenset[str] = frozenset(
    {
        TektonReason.TASK_RUN_CANCELLED,
        TektonReason.TASK_RUN_TIMEOUT,
        TektonReason.TASK_RUN_IMAGE_PULL_FAILED,
    }
)
"""Step states Tekton writes itself when it fails a whole TaskRun (their exit code 1 is fake)."""

IMAGE_PULL_WAITING_REASONS: frozenset[str] = frozenset(
    {StepReason.ERR_IMAGE_PULL, StepReason.IMAGE_PULL_BACK_OFF, StepReason.INVALID_IMAGE_NAME}
)

CONFIGURATION_RUN_REASONS: frozenset[str] = frozenset(
    {
        TektonReason.COULDNT_GET_PIPELINE,
        TektonReason.COULDNT_GET_TASK,
        TektonReason.PARAMETER_MISSING,
        TektonReason.PARAMETER_TYPE_MISMATCH,
        TektonReason.INVALID_PARAM_VALUE,
        TektonReason.PIPELINE_VALIDATION_FAILED,
        TektonReason.PIPELINE_INVALID_GRAPH,
        TektonReason.INVALID_WORKSPACE_BINDINGS,
        TektonReason.CREATE_RUN_FAILED,
    }
)

NOT_EXECUTION_REASONS: frozenset[FailureReason] = frozenset(
    {
        FailureReason.IMAGE_PULL_BACK_OFF,
        FailureReason.CONFIGURATION_ERROR,
        FailureReason.RESOURCE_EXHAUSTED,
        FailureReason.DEDUPLICATED,
    }
)

KEYWORDS: tuple[tuple[FailureReason, tuple[str, ...]], ...] = (
    (FailureReason.OOM_KILLED, ("oomkilled", "out of memory")),
    (FailureReason.DEADLINE_EXCEEDED, ("timed out", "deadline")),
    (FailureReason.FORBIDDEN, ("forbidden", "rbac", "permission denied")),
    (FailureReason.RESOURCE_EXHAUSTED, (EXCEEDED_QUOTA_TEXT,)),
    (FailureReason.IMAGE_PULL_BACK_OFF, ("errimagepull", "imagepullbackoff", "failed to pull")),
    (FailureReason.CONFIGURATION_ERROR, ("invalid", "validation")),
)
"""Rule 8: whole-word keywords in lower-cased messages, in this order."""


@dataclass(frozen=True)
class FailedTask:
    """The failed child TaskRun: its position in `childReferences`, names and failed step."""

    index: int
    pipeline_task_name: str
    taskrun: tekton.Document
    step_name: str | None
    exit_code: int | None


def failed_step(taskrun: tekton.Document) -> tuple[str, int] | None:
    """`(step name, exit code)` of the first step with a real non-zero exit code."""
    for step in tekton.steps(taskrun):
        state = tekton.terminated(step)
        exit_code = state.get("exitCode")
        if not isinstance(exit_code, int) or exit_code == 0:
            continue
        termination = step.get("terminationReason")
        if termination == StepReason.SKIPPED:
            continue
        if termination in SYNTHETIC_STEP_REASONS or state.get("reason") in SYNTHETIC_STEP_REASONS:
            continue
        return str(step.get("name") or ""), exit_code
    return None


def _is_failed(taskrun: tekton.Document) -> bool:
    condition = tekton.succeeded(taskrun)
    return (
        condition is not None
        and condition.status == ConditionStatus.FALSE
        and condition.reason != TektonReason.FAILURE_IGNORED
    )


def _is_unfinished(taskrun: tekton.Document) -> bool:
    condition = tekton.succeeded(taskrun)
    return condition is None or condition.status == ConditionStatus.UNKNOWN


def failed_task(run: tekton.Document, taskruns: TaskRuns) -> FailedTask | None:
    """The first failed child TaskRun in `childReferences` order (missing children skipped).

    When no child has failed yet (a run timed out before Tekton cancelled its children), the first
    unfinished child stands in.
    """
    by_name = tekton.index_by_name(taskruns)
    present = [(c, by_name[c.name]) for c in tekton.taskrun_children(run) if c.name in by_name]
    chosen = next(((c, t) for c, t in present if _is_failed(t)), None)
    if chosen is None:
        chosen = next(((c, t) for c, t in present if _is_unfinished(t)), None)
    if chosen is None:
        return None
    child, taskrun = chosen
    step = failed_step(taskrun)
    return FailedTask(
        index=child.index,
        pipeline_task_name=child.pipeline_task_name,
        taskrun=taskrun,
        step_name=step[0] if step else None,
        exit_code=step[1] if step else None,
    )


def _children(run: tekton.Document, taskruns: TaskRuns) -> list[tekton.Document]:
    by_name = tekton.index_by_name(taskruns)
    return [by_name[c.name] for c in tekton.taskrun_children(run) if c.name in by_name]


def _any_child_quota_blocked(children: Sequence[tekton.Document]) -> bool:
    for child in children:
        condition = tekton.succeeded(child)
        if (
            condition is not None
            and condition.status == ConditionStatus.UNKNOWN
            and condition.reason == TektonReason.EXCEEDED_RESOURCE_QUOTA
        ):
            return True
    return False


def _has_word(text: str, phrase: str) -> bool:
    return re.search(rf"(?<![a-z0-9]){re.escape(phrase)}(?![a-z0-9])", text) is not None


def classify_failure(
    run: tekton.Document, taskruns: TaskRuns = (), blocked_reason: str | None = None
) -> FailureReason:
    """The failure reason of a failed run: Tekton's reasons first, keywords last (§5 order)."""
    condition = tekton.succeeded(run)
    run_reason = condition.reason if condition else ""
    run_message = condition.message if condition else ""
    children = _children(run, taskruns)
    failed = failed_task(run, taskruns)
    task_condition = tekton.succeeded(failed.taskrun) if failed else None
    task_reason = task_condition.reason if task_condition else ""
    task_message = task_condition.message if task_condition else ""
    failed_steps = tekton.steps(failed.taskrun) if failed else []

    if any(tekton.terminated(s).get("reason") == StepReason.OOM_KILLED for s in failed_steps):
        return FailureReason.OOM_KILLED
    quota_seen = blocked_reason == TektonReason.EXCEEDED_RESOURCE_QUOTA or _any_child_quota_blocked(
        children
    )
    if quota_seen and not any(tekton.pod_name(child) for child in children):
        return FailureReason.RESOURCE_EXHAUSTED
    if (
        run_reason == TektonReason.PIPELINE_RUN_TIMEOUT
        or task_reason == TektonReason.TASK_RUN_TIMEOUT
        or any(s.get("terminationReason") == StepReason.TIMEOUT_EXCEEDED for s in failed_steps)
    ):
        return FailureReason.DEADLINE_EXCEEDED
    if task_reason == TektonReason.TASK_RUN_IMAGE_PULL_FAILED or any(
        tekton.waiting(s).get("reason") in IMAGE_PULL_WAITING_REASONS for s in failed_steps
    ):
        return FailureReason.IMAGE_PULL_BACK_OFF
    if task_reason == TektonReason.POD_ADMISSION_FAILED or (
        task_reason == TektonReason.POD_CREATION_FAILED and IS_FORBIDDEN_TEXT in task_message
    ):
        return FailureReason.FORBIDDEN
    if (
        run_reason in CONFIGURATION_RUN_REASONS
        or task_reason == TektonReason.CREATE_CONTAINER_CONFIG_ERROR
    ):
        return FailureReason.CONFIGURATION_ERROR
    if run_reason == TektonReason.FAILED:
        return FailureReason.TASK_FAILED
    text = f"{run_message}\n{task_message}".lower()
    for reason, phrases in KEYWORDS:
        if any(_has_word(text, phrase) for phrase in phrases):
            return reason
    return FailureReason.UNKNOWN


def _step_started(step: tekton.Document) -> bool:
    if step.get("running"):
        return True
    state = tekton.terminated(step)
    if not state:
        return False
    synthetic = state.get("reason") in SYNTHETIC_STEP_REASONS
    return not synthetic or bool(state.get("startedAt"))


def was_execution_failure(
    reason: FailureReason, run: tekton.Document, taskruns: TaskRuns = ()
) -> bool:
    """Whether the workflow really ran and may have changed the cluster (ambiguous → True)."""
    if reason in NOT_EXECUTION_REASONS:
        return False
    references = tekton.taskrun_children(run)
    if not references:
        return False
    children = _children(run, taskruns)
    if len(children) < len(references):
        return True
    with_pod = [child for child in children if tekton.pod_name(child)]
    if not with_pod:
        return False
    for child in with_pod:
        child_steps = tekton.steps(child)
        if not child_steps or any(_step_started(s) for s in child_steps):
            return True
    return False
