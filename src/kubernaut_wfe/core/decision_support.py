"""Shared pieces of the reconcile decisions: backoff, status-carrying decisions, failures
before any run existed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from kubernaut_wfe.constants import (
    EXCEEDED_QUOTA_TEXT,
    ConditionReason,
    EventReason,
    EventType,
    FailureReason,
    Phase,
)
from kubernaut_wfe.core import tekton
from kubernaut_wfe.core.actions import (
    Decision,
    DeleteRun,
    KubeEvent,
    Outcome,
    ReadRun,
)
from kubernaut_wfe.core.audit import undelivered_audit_events
from kubernaut_wfe.core.config import ControllerConfig
from kubernaut_wfe.core.failure import (
    preexecution_failure,
)
from kubernaut_wfe.core.models import WorkflowExecution, WorkflowExecutionStatus
from kubernaut_wfe.core.naming import pipelinerun_name
from kubernaut_wfe.core.observation import (
    ApiFailure,
    Observation,
)
from kubernaut_wfe.core.record import ExecutionRecord, read_record
from kubernaut_wfe.core.targets import lock_target
from kubernaut_wfe.core.transitions import (
    to_failed,
)

MAX_BACKOFF = timedelta(minutes=5)


def backoff(attempt: int, base: timedelta = timedelta(seconds=1)) -> timedelta:
    """Exponential backoff for `attempt` (1, 2, 4 … seconds), capped at five minutes."""
    factor: int = 2 ** min(max(0, attempt - 1), 20)
    return min(MAX_BACKOFF, base * factor)


def with_status(
    wfe: WorkflowExecution,
    status: WorkflowExecutionStatus | None,
    **fields: Any,
) -> Decision:
    """A decision that writes `status` and owes the audit events that status makes due."""
    projected = wfe if status is None else wfe.model_copy(update={"status": status})
    return Decision(status=status, audit=tuple(undelivered_audit_events(projected)), **fields)


def lock_target_of(wfe: WorkflowExecution, obs: Observation) -> str:
    """The target the WFE's lock is named after (`core.targets.lock_target`)."""
    return lock_target(wfe.spec.target_resource, obs.target)


def read_lock(wfe: WorkflowExecution, config: ControllerConfig, obs: Observation) -> ReadRun:
    """GET the run at the WFE's lock name: the name of its canonical target."""
    return ReadRun(config.execution.namespace, pipelinerun_name(lock_target_of(wfe, obs)))


def own_run_name(wfe: WorkflowExecution) -> str | None:
    """The name of the run the WFE created or adopted: the one its execution record names
    (`core.record`; status can be rewritten by others), else the one its status names (a WFE
    from before records), else None."""
    record = read_record(wfe)
    if isinstance(record, ExecutionRecord):
        return record.name
    ref = wfe.status.pipeline_run_ref
    return ref.name if ref is not None else None


def read_run(wfe: WorkflowExecution, config: ControllerConfig, obs: Observation) -> ReadRun:
    """GET the WFE's own run once it has one (a run created under an earlier lock name, before
    targets were canonical, is still followed and released), else the run at its lock name."""
    name = own_run_name(wfe)
    if name is None:
        return read_lock(wfe, config, obs)
    return ReadRun(config.execution.namespace, name)


def run_ref(run: tekton.Document) -> str:
    meta = tekton.metadata(run)
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


# --- Failed before anything ran -------------------------------------------------------------


def fail_before_run(
    wfe: WorkflowExecution,
    reason: FailureReason,
    message: str,
    now: datetime,
    *,
    created_reason: ConditionReason | None = None,
) -> Decision:
    """Pending → Failed without a run (invalid spec, duplicate, refused create)."""
    details = preexecution_failure(wfe, reason, message, now)
    status = to_failed(wfe, details, now, created_reason=created_reason)
    event = KubeEvent(EventReason.WORKFLOW_FAILED, EventType.WARNING, f"{reason}: {message}")
    return with_status(wfe, status, events=(event,), outcome=Outcome(Phase.FAILED))


def create_refused_reason(failure: ApiFailure) -> tuple[FailureReason, ConditionReason]:
    """The enum reasons for a refused CREATE (403 quota, 403, 400/422, anything else)."""
    if failure.status == 403 and EXCEEDED_QUOTA_TEXT in failure.message.lower():
        return FailureReason.RESOURCE_EXHAUSTED, ConditionReason.QUOTA_EXCEEDED
    if failure.status == 403:
        return FailureReason.FORBIDDEN, ConditionReason.RBAC_DENIED
    if failure.status in (400, 422):
        return FailureReason.CONFIGURATION_ERROR, ConditionReason.PIPELINE_CREATION_FAILED
    return FailureReason.UNKNOWN, ConditionReason.PIPELINE_CREATION_FAILED


def delete_run_as_read(run: tekton.Document, why: str) -> Decision:
    meta = tekton.metadata(run)
    return Decision(
        actions=(
            DeleteRun(
                namespace=str(meta.get("namespace") or ""),
                name=str(meta.get("name") or ""),
                uid=str(meta.get("uid") or ""),
                resource_version=str(meta.get("resourceVersion") or ""),
            ),
        ),
        notes=(why,),
    )


def outcome_of(status: WorkflowExecutionStatus) -> Outcome:
    assert status.phase is not None
    seconds = None
    if status.start_time and status.completion_time:
        seconds = max(0.0, (status.completion_time - status.start_time).total_seconds())
    return Outcome(status.phase, seconds)
