"""Builds the ADR-034 v1.5 audit event for one WorkflowExecution transition (pure).

The payload is built through the `event_data` union member with the discriminator taken from the
same `AuditEventType` as the envelope's `event_type`, so the two can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from kubernaut_wfe.constants import (
    AUDIT_ACTOR_ID,
    AUDIT_ACTOR_TYPE,
    AUDIT_CATEGORY,
    AUDIT_COMPONENT,
    AUDIT_RESOURCE_TYPE,
    AUDIT_VERSION,
    AuditEventType,
    DataStorageContract,
    FailureReason,
    Label,
    Phase,
)
from kubernaut_wfe.core.durations import format_duration
from kubernaut_wfe.core.models import FailureDetails, WorkflowExecution
from kubernaut_wfe.core.parameters import received_parameters
from kubernaut_wfe.datastorage import models


@dataclass(frozen=True)
class _EventShape:
    action: str
    outcome: models.EventOutcome
    phase: Phase
    timing: bool
    """Whether the event reports the run's start/completion times and duration."""
    failure: bool


_SHAPES: Final[dict[AuditEventType, _EventShape]] = {
    AuditEventType.SELECTION_COMPLETED: _EventShape(
        "completed", models.EventOutcome.SUCCESS, Phase.PENDING, timing=False, failure=False
    ),
    AuditEventType.EXECUTION_STARTED: _EventShape(
        "started", models.EventOutcome.SUCCESS, Phase.RUNNING, timing=True, failure=False
    ),
    AuditEventType.WORKFLOW_COMPLETED: _EventShape(
        "completed", models.EventOutcome.SUCCESS, Phase.COMPLETED, timing=True, failure=False
    ),
    AuditEventType.WORKFLOW_FAILED: _EventShape(
        "failed", models.EventOutcome.FAILURE, Phase.FAILED, timing=True, failure=True
    ),
}

DELETED_WHILE_RUNNING: Final = "WorkflowExecution deleted while Running; its PipelineRun is deleted"
"""`failure_message` of the `workflow.failed` event of a WFE deleted while Running."""

_RETRYABLE_FAILURES: Final = frozenset(
    {
        FailureReason.DEADLINE_EXCEEDED,
        FailureReason.RESOURCE_EXHAUSTED,
        FailureReason.IMAGE_PULL_BACK_OFF,
        FailureReason.OOM_KILLED,
        FailureReason.DEDUPLICATED,
        FailureReason.UNKNOWN,
    }
)
"""Failure reasons a later attempt may get past (the rest need a changed workflow or RBAC)."""
_JANUARY_FAILURE_REASONS: Final = frozenset(
    reason.value
    for reason in models.FailureReason
    if reason.value not in (FailureReason.DEDUPLICATED, FailureReason.UNSUPPORTED_ENGINE)
)
"""The failure reasons a January DataStorage's enum has."""


def correlation_id_of(wfe: WorkflowExecution) -> str:
    """The remediation request's name, else the correlation label, else the WFE name."""
    return (
        wfe.spec.remediation_request_ref.name
        or wfe.metadata.labels.get(Label.CORRELATION_ID, "")
        or wfe.metadata.name
    )


def audit_timestamp(moment: datetime) -> datetime:
    """`moment` in UTC with whole seconds, as Kubernetes records transition times.

    Events are keyed by their timestamp; truncating keeps an event built from an in-memory clock
    equal to one rebuilt from `status` after a restart. Naive datetimes are taken as UTC.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0)


def build_audit_event(
    event_type: AuditEventType,
    wfe: WorkflowExecution,
    *,
    at: datetime,
    contract: DataStorageContract = DataStorageContract.AUGUST_2026,
) -> models.AuditEventRequest:
    """The audit event of `event_type` for `wfe`, stamped with the transition time `at`, in the
    shape of the DataStorage `contract` (a January one knows none of the catalog fields)."""
    shape = _SHAPES[event_type]
    newest = contract is DataStorageContract.AUGUST_2026
    ref = wfe.spec.workflow_ref
    payload = models.WorkflowExecutionAuditPayload(
        event_type=event_type,
        workflow_id=ref.workflow_id,
        workflow_version=ref.version,
        target_resource=wfe.spec.target_resource,
        phase=models.Phase(shape.phase),
        container_image=ref.image,
        execution_name=wfe.metadata.name,
        **(_catalog_fields(wfe, shape) if newest else {}),
        **_run_fields(wfe, shape, newest=newest),
    )
    return models.AuditEventRequest(
        version=AUDIT_VERSION,
        event_type=event_type,
        event_timestamp=audit_timestamp(at),
        event_category=models.EventCategory(AUDIT_CATEGORY),
        event_action=shape.action,
        event_outcome=shape.outcome,
        actor_type=AUDIT_ACTOR_TYPE,
        actor_id=AUDIT_ACTOR_ID,
        resource_type=AUDIT_RESOURCE_TYPE,
        resource_id=wfe.metadata.name,
        correlation_id=correlation_id_of(wfe),
        namespace=wfe.metadata.namespace or None,
        cluster_id=(wfe.spec.cluster_id or None) if newest else None,
        event_data=payload,
    )


def serialize_audit_event(event: models.AuditEventRequest) -> dict[str, Any]:
    """The JSON body of `event`: absent optionals omitted, never sent as null."""
    return event.model_dump(mode="json", exclude_none=True)


def _catalog_fields(wfe: WorkflowExecution, shape: _EventShape) -> dict[str, Any]:
    """The catalog snapshot's names, and the parameters the run received (after filtering:
    never a value the run did not get) on the events of a run that exists."""
    ref = wfe.spec.workflow_ref
    fields: dict[str, Any] = {
        "workflow_name": ref.workflow_name or None,
        "action_type": ref.action_type or None,
    }
    if shape.timing and wfe.status.pipeline_run_ref is not None:
        fields["parameters"] = received_parameters(wfe.spec)
    execution = wfe.status.execution_status
    if shape.phase in (Phase.COMPLETED, Phase.FAILED) and execution and execution.retry_count:
        fields["retry_count"] = execution.retry_count  # a Job's tolerated pod failures
    return fields


def _run_fields(wfe: WorkflowExecution, shape: _EventShape, *, newest: bool) -> dict[str, Any]:
    status = wfe.status
    fields: dict[str, Any] = {}
    if status.pipeline_run_ref is not None and status.pipeline_run_ref.name:
        fields["pipelinerun_name"] = status.pipeline_run_ref.name
    deleted_at = _deleted_while_running_at(wfe) if shape.failure else None
    if shape.timing:
        fields["started_at"] = status.start_time
        if shape.phase is not Phase.RUNNING:
            ended = status.completion_time or deleted_at
            fields["completed_at"] = ended
            fields["duration"] = status.duration or _duration_between(status.start_time, ended)
    if shape.failure and status.failure_details is not None:
        fields.update(_failure_fields(status.failure_details, newest=newest))
    elif deleted_at is not None:
        fields.update(
            _failure_fields(
                FailureDetails(
                    reason=FailureReason.UNKNOWN,
                    message=DELETED_WHILE_RUNNING,
                    failed_at=deleted_at,
                ),
                newest=newest,
            )
        )
    return {name: value for name, value in fields.items() if value not in (None, "")}


def _deleted_while_running_at(wfe: WorkflowExecution) -> datetime | None:
    """The deletion time of a WFE deleted while Running (its `workflow.failed` has no status
    failure to report), else None."""
    if wfe.status.phase != Phase.RUNNING or wfe.metadata.deletion_timestamp is None:
        return None
    return audit_timestamp(wfe.metadata.deletion_timestamp)


def _duration_between(start: datetime | None, end: datetime | None) -> str | None:
    if start is None or end is None:
        return None
    return format_duration(end - start)


def _failure_fields(details: FailureDetails, *, newest: bool) -> dict[str, Any]:
    if newest or details.reason.value in _JANUARY_FAILURE_REASONS:
        reason = models.FailureReason(details.reason.value)
        message = details.message
    else:
        # A January DataStorage's enum lacks it (Deduplicated, UnsupportedEngine): send Unknown
        # and keep our reason at the start of the message.
        reason = models.FailureReason.UNKNOWN
        message = (
            f"{details.reason.value}: {details.message}"
            if details.message
            else details.reason.value
        )
    return {
        "failure_reason": reason,
        "failure_message": message,
        "failed_task_name": details.failed_task_name,
        "error_details": models.ErrorDetails(
            message=message or details.reason.value,
            code=f"ERR_WORKFLOWEXECUTION_{_screaming_snake(details.reason.value)}",
            component=models.Component(AUDIT_COMPONENT),
            retry_possible=details.reason in _RETRYABLE_FAILURES,
        ),
    }


def _screaming_snake(camel: str) -> str:
    """`ImagePullBackOff` -> `IMAGE_PULL_BACK_OFF`, `OOMKilled` -> `OOM_KILLED`."""
    out: list[str] = []
    for index, char in enumerate(camel):
        following = camel[index + 1] if index + 1 < len(camel) else ""
        previous = camel[index - 1] if index else ""
        if (
            index
            and char.isupper()
            and (previous.islower() or (following.islower() and previous.isupper()))
        ):
            out.append("_")
        out.append(char.upper())
    return "".join(out)
