"""`failureDetails` (spec §5): the classifier's verdict, the failed task, the summary text."""

from __future__ import annotations

from datetime import datetime

from kubernaut_wfe.constants import (
    ConditionReason,
    ExecutionEngine,
    FailureReason,
)
from kubernaut_wfe.core import tekton
from kubernaut_wfe.core.classifier import (
    FailedTask,
    TaskRuns,
    classify_failure,
    failed_step,
    failed_task,
    was_execution_failure,
)
from kubernaut_wfe.core.conditions import truncate
from kubernaut_wfe.core.dependencies import missing_dependency_message
from kubernaut_wfe.core.durations import format_duration
from kubernaut_wfe.core.engines import engine_of
from kubernaut_wfe.core.jobstatus import JobEnding
from kubernaut_wfe.core.models import FailureDetails, WorkflowExecution
from kubernaut_wfe.core.runs import believable_end

__all__ = [
    "FAILURE_MESSAGE_MAX",
    "RECOMMENDATIONS",
    "FailedTask",
    "classify_failure",
    "failed_step",
    "failed_task",
    "failure_details",
    "job_failure_details",
    "natural_language_summary",
    "pipeline_complete_reason",
    "preexecution_failure",
    "was_execution_failure",
]

FAILURE_MESSAGE_MAX = 4096

RECOMMENDATIONS: dict[FailureReason, str] = {
    FailureReason.OOM_KILLED: "Raise the memory limit of the failing step, or reduce the work it"
    " does at once.",
    FailureReason.FORBIDDEN: "Grant the runner service account the RBAC permissions the workflow"
    " needs, or fix the pod security settings that refused the pod.",
    FailureReason.DEADLINE_EXCEEDED: "Increase spec.executionConfig.timeout or the task timeout,"
    " or find out why the workflow is slow.",
    FailureReason.IMAGE_PULL_BACK_OFF: "Check that the step images exist, are spelled correctly"
    " and that the runner can pull them (registry credentials).",
    FailureReason.RESOURCE_EXHAUSTED: "Raise the ResourceQuota of the execution namespace or"
    " lower the workflow's resource requests.",
    FailureReason.CONFIGURATION_ERROR: "Fix the workflow reference, bundle, parameters or"
    " dependencies (Secrets and ConfigMaps of the execution namespace); the workflow cannot run"
    " as configured.",
    FailureReason.TASK_FAILED: "Read the logs of the failed step to see why it exited non-zero.",
    FailureReason.UNSUPPORTED_ENGINE: "Run this workflow with an engine this controller runs, or"
    " hand it to a controller that runs its engine.",
    FailureReason.DEDUPLICATED: "Nothing to do: another execution already handles this target.",
    FailureReason.UNKNOWN: "Inspect the PipelineRun and its TaskRuns for more detail.",
}
"""One recommendation per reason, for a Tekton run (and the WFEs that never got a run)."""

JOB_RECOMMENDATIONS: dict[FailureReason, str] = {
    FailureReason.OOM_KILLED: "Raise the memory limit of the workflow (workflowRef.resources in"
    " its catalog entry), or reduce the work it does at once.",
    FailureReason.DEADLINE_EXCEEDED: "Give the remediation a later spec.timesOutAt (a WFE without"
    " a deadline gets execution.job_active_deadline), or find out why the workflow is slow.",
    FailureReason.IMAGE_PULL_BACK_OFF: "Check that the workflow image exists, is spelled"
    " correctly and that the runner can pull it (registry credentials).",
    FailureReason.TASK_FAILED: "Read the logs of the Job's pod to see why the workflow exited"
    " non-zero.",
    FailureReason.UNKNOWN: "Inspect the Job, its pods and their Events for more detail.",
}
"""Where a Job (`executionEngine: job`) needs other words than `RECOMMENDATIONS`."""

PIPELINE_COMPLETE_REASONS: dict[FailureReason, ConditionReason] = {
    FailureReason.TASK_FAILED: ConditionReason.TASK_FAILED,
    FailureReason.DEADLINE_EXCEEDED: ConditionReason.DEADLINE_EXCEEDED,
    FailureReason.OOM_KILLED: ConditionReason.OOM_KILLED,
}


def pipeline_complete_reason(reason: FailureReason) -> ConditionReason:
    """Reason of `TektonPipelineComplete` False for a failure reason."""
    return PIPELINE_COMPLETE_REASONS.get(reason, ConditionReason.PIPELINE_FAILED)


def natural_language_summary(
    wfe: WorkflowExecution,
    reason: FailureReason,
    message: str,
    *,
    ran_for: str = "",
    task_name: str = "",
    step_name: str | None = None,
    exit_code: int | None = None,
) -> str:
    """A few plain lines for operators, ending with one recommendation for the reason."""
    workflow = wfe.spec.workflow_ref.workflow_id or "<unknown workflow>"
    lines = [
        f"Workflow {workflow} failed on target {wfe.spec.target_resource or '<unknown>'}.",
        f"Reason: {reason.value}.",
    ]
    if message:
        lines.append(f"Error: {message}")
    if task_name:
        where = f"Failed task: {task_name}"
        if step_name:
            where += f", step {step_name}"
        if exit_code is not None:
            where += f", exit code {exit_code}"
        lines.append(where + ".")
    if ran_for:
        lines.append(f"It ran for {ran_for} before failing.")
    else:
        lines.append("It never started running.")
    lines.append(f"Recommendation: {recommendation(wfe, reason)}")
    return "\n".join(lines)


def recommendation(wfe: WorkflowExecution, reason: FailureReason) -> str:
    """What to do about a failure of that reason, in the words of the WFE's engine."""
    if engine_of(wfe.spec) == ExecutionEngine.JOB and reason in JOB_RECOMMENDATIONS:
        return JOB_RECOMMENDATIONS[reason]
    return RECOMMENDATIONS[reason]


def _failure_message(
    run: tekton.Document, failed: FailedTask | None, blocked_message: str | None, reason: str
) -> str:
    if failed is not None and (missing := missing_dependency_message(run, failed.taskrun)):
        return missing
    condition = tekton.succeeded(run)
    parts = [condition.message] if condition and condition.message else []
    task_condition = tekton.succeeded(failed.taskrun) if failed else None
    if task_condition and task_condition.message:
        parts.append(task_condition.message)
    if reason == FailureReason.RESOURCE_EXHAUSTED and blocked_message:
        parts.append(blocked_message)
    return "; ".join(dict.fromkeys(parts)) or "PipelineRun failed"


def failure_details(
    wfe: WorkflowExecution, run: tekton.Document, taskruns: TaskRuns, now: datetime
) -> FailureDetails:
    """All `failureDetails` keys for a run whose `Succeeded` condition is False."""
    summary = wfe.status.pipeline_run_status
    blocked_reason = summary.blocked_reason if summary else None
    blocked_message = summary.blocked_message if summary else None
    reason = classify_failure(run, taskruns, blocked_reason)
    failed = failed_task(run, taskruns)
    failed_at = believable_end(tekton.completion_time(run), wfe.status.start_time, now)
    started = wfe.status.start_time or tekton.start_time(run)
    return _details(
        wfe,
        reason,
        _failure_message(run, failed, blocked_message, reason),
        failed_at,
        ran_for=format_duration(failed_at - started) if started else "",
        executed=was_execution_failure(reason, run, taskruns),
        index=failed.index if failed else 0,
        task_name=failed.pipeline_task_name if failed else "",
        step_name=failed.step_name if failed else None,
        exit_code=failed.exit_code if failed else None,
    )


def job_failure_details(wfe: WorkflowExecution, ending: JobEnding, now: datetime) -> FailureDetails:
    """All `failureDetails` keys for a Job's failed ending (`core.jobstatus`): the container is
    the failed task (a Job has no steps of its own), the time is the Job's when it says one."""
    failed_at = believable_end(ending.ended_at, wfe.status.start_time, now)
    started = wfe.status.start_time
    return _details(
        wfe,
        ending.reason or FailureReason.UNKNOWN,
        ending.message,
        failed_at,
        ran_for=format_duration(failed_at - started) if started else "",
        executed=ending.was_execution_failure,
        task_name=ending.step_name or "",
        step_name=ending.step_name,
        exit_code=ending.exit_code,
        step_in_summary=False,
    )


def preexecution_failure(
    wfe: WorkflowExecution,
    reason: FailureReason,
    message: str,
    now: datetime,
    *,
    was_execution: bool = False,
    ran_for: str = "",
) -> FailureDetails:
    """`failureDetails` for a failure without a failed run (validation, duplicate, create)."""
    return _details(wfe, reason, message, now, ran_for=ran_for, executed=was_execution)


def _details(
    wfe: WorkflowExecution,
    reason: FailureReason,
    message: str,
    failed_at: datetime,
    *,
    ran_for: str,
    executed: bool,
    index: int = 0,
    task_name: str = "",
    step_name: str | None = None,
    exit_code: int | None = None,
    step_in_summary: bool = True,
) -> FailureDetails:
    text = truncate(message, FAILURE_MESSAGE_MAX)
    return FailureDetails(
        failed_task_index=index,
        failed_task_name=task_name,
        reason=reason,
        message=text,
        failed_at=failed_at,
        execution_time_before_failure=ran_for,
        natural_language_summary=natural_language_summary(
            wfe,
            reason,
            text,
            ran_for=ran_for,
            task_name=task_name,
            step_name=step_name if step_in_summary else None,
            exit_code=exit_code,
        ),
        failed_step_name=step_name,
        exit_code=exit_code,
        was_execution_failure=executed,
    )
