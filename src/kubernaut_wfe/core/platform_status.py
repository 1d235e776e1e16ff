"""The status in the August 2026 contract's vocabulary too (platform-contract §2): what the
January fields already say, under the engine-neutral names that contract's readers use.

`executionRef`/`executionStatus` mirror `pipelineRunRef`/`pipelineRunStatus`, the
`Execution*` conditions mirror the `TektonPipeline*` ones (same status, message and transition
time) and `failureReason` copies `failureDetails.reason`. Every transition ends here, so the
two vocabularies never disagree.

A WFE run by the Job engine has no January reader (the January contract knows only Tekton), so
its status speaks the engine-neutral vocabulary alone: `engine_neutral_only` is what is written
for it, and `with_tekton_names` rebuilds the Tekton-named fields when it is read back, so that
the decisions see one shape of status whichever engine runs the WFE.
"""

from __future__ import annotations

from kubernaut_wfe.constants import ConditionReason, ConditionType, FailureReason, Phase
from kubernaut_wfe.core.models import (
    Condition,
    ExecutionSummary,
    PipelineRunSummary,
    WorkflowExecutionStatus,
)

ENGINE_NEUTRAL_CONDITIONS: dict[ConditionType, ConditionType] = {
    ConditionType.TEKTON_PIPELINE_CREATED: ConditionType.EXECUTION_CREATED,
    ConditionType.TEKTON_PIPELINE_RUNNING: ConditionType.EXECUTION_RUNNING,
    ConditionType.TEKTON_PIPELINE_COMPLETE: ConditionType.EXECUTION_COMPLETE,
}

TEKTON_NAMED_CONDITIONS: dict[ConditionType, ConditionType] = {
    neutral: tekton for tekton, neutral in ENGINE_NEUTRAL_CONDITIONS.items()
}

ENGINE_NEUTRAL_REASONS: dict[str, ConditionReason] = {
    ConditionReason.PIPELINE_CREATED: ConditionReason.EXECUTION_CREATED,
    ConditionReason.PIPELINE_CREATION_FAILED: ConditionReason.EXECUTION_CREATION_FAILED,
    ConditionReason.PIPELINE_STARTED: ConditionReason.EXECUTION_STARTED,
    ConditionReason.PIPELINE_SUCCEEDED: ConditionReason.EXECUTION_SUCCEEDED,
    ConditionReason.PIPELINE_FAILED: ConditionReason.EXECUTION_FAILED,
}
"""Tekton-named reasons and their engine-neutral names; the rest (`TaskFailed`,
`DeadlineExceeded`, `OOMKilled`, `QuotaExceeded`, `RBACDenied`) are the same in both."""

_OUR_REASONS = frozenset(reason.value for reason in FailureReason)


def execution_summary(
    summary: PipelineRunSummary | None, known_retries: int | None = None
) -> ExecutionSummary | None:
    """`executionStatus` for a run summary; `known_retries` is the retry count written before,
    kept when the summary was read back from the API (which keeps it only here)."""
    if summary is None:
        return None
    retries = summary.retry_count if summary.retry_count is not None else known_retries
    return ExecutionSummary(
        status=summary.status,
        reason=summary.reason,
        message=summary.message,
        completed_tasks=summary.completed_tasks,
        total_tasks=summary.total_tasks,
        retry_count=retries,
    )


def _engine_neutral(conditions: list[Condition]) -> list[Condition]:
    mirrored = {
        ENGINE_NEUTRAL_CONDITIONS[ConditionType(c.type)]: c.model_copy(
            update={
                "type": ENGINE_NEUTRAL_CONDITIONS[ConditionType(c.type)].value,
                "reason": ENGINE_NEUTRAL_REASONS.get(c.reason, c.reason),
            }
        )
        for c in conditions
        if c.type in ENGINE_NEUTRAL_CONDITIONS
    }
    kept = [c for c in conditions if c.type not in mirrored]
    return kept + [
        mirrored[kind] for kind in ENGINE_NEUTRAL_CONDITIONS.values() if kind in mirrored
    ]


def with_platform_fields(status: WorkflowExecutionStatus) -> WorkflowExecutionStatus:
    """`status` with its engine-neutral fields derived from the January ones."""
    failure_reason = status.failure_reason
    details = status.failure_details
    theirs = failure_reason is not None and failure_reason not in _OUR_REASONS
    if status.phase == Phase.FAILED and details is not None and not theirs:
        failure_reason = details.reason.value
    return status.model_copy(
        update={
            "execution_ref": status.pipeline_run_ref,
            "execution_status": execution_summary(
                status.pipeline_run_status,
                status.execution_status.retry_count if status.execution_status else None,
            ),
            "failure_reason": failure_reason,
            "conditions": _engine_neutral(status.conditions),
        }
    )


TEKTON_NAMED_REASONS: dict[str, ConditionReason] = {
    neutral.value: ConditionReason(tekton) for tekton, neutral in ENGINE_NEUTRAL_REASONS.items()
}


def engine_neutral_only(status: WorkflowExecutionStatus) -> WorkflowExecutionStatus:
    """`status` without its Tekton-named fields (what a Job-engine WFE shows)."""
    return status.model_copy(
        update={
            "pipeline_run_ref": None,
            "pipeline_run_status": None,
            "conditions": [c for c in status.conditions if c.type not in ENGINE_NEUTRAL_CONDITIONS],
        }
    )


def with_tekton_names(status: WorkflowExecutionStatus) -> WorkflowExecutionStatus:
    """The Tekton-named fields of a status written `engine_neutral_only`, rebuilt from the
    engine-neutral ones (fields someone wrote under those names are kept)."""
    summary = status.execution_status
    present = {c.type for c in status.conditions}
    rebuilt = [
        c.model_copy(
            update={
                "type": TEKTON_NAMED_CONDITIONS[ConditionType(c.type)].value,
                "reason": TEKTON_NAMED_REASONS.get(c.reason, c.reason),
            }
        )
        for c in status.conditions
        if c.type in TEKTON_NAMED_CONDITIONS
        and TEKTON_NAMED_CONDITIONS[ConditionType(c.type)] not in present
    ]
    return status.model_copy(
        update={
            "pipeline_run_ref": status.pipeline_run_ref or status.execution_ref,
            "pipeline_run_status": status.pipeline_run_status
            or (
                PipelineRunSummary(
                    status=summary.status,
                    reason=summary.reason,
                    message=summary.message,
                    completed_tasks=summary.completed_tasks,
                    total_tasks=summary.total_tasks,
                )
                if summary is not None
                else None
            ),
            "conditions": [*status.conditions, *rebuilt],
        }
    )
