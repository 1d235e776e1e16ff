"""Pure helpers for the one status write of a reconcile: folding audit outcomes into a status,
and the merge patch that turns the current status into the new one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from kubernaut_wfe.constants import AuditEventType
from kubernaut_wfe.core.audit import audit_condition, due_audit_events
from kubernaut_wfe.core.models import WorkflowExecution, WorkflowExecutionStatus


def _merged(current: Iterable[AuditEventType], added: Iterable[AuditEventType]) -> list[Any]:
    result = list(dict.fromkeys(current))
    result += [item for item in sorted(set(added)) if item not in result]
    return result


def fold_audit_outcomes(
    wfe: WorkflowExecution,
    status: WorkflowExecutionStatus,
    acknowledged: Iterable[AuditEventType],
    rejected: Iterable[AuditEventType],
    now: datetime,
) -> WorkflowExecutionStatus:
    """`status` with the acknowledged/rejected event types recorded and `AuditRecorded` redone."""
    audited = _merged(status.audited_events, acknowledged)
    refused = _merged(status.rejected_audit_events, rejected)
    projected = wfe.model_copy(
        update={
            "status": status.model_copy(
                update={"audited_events": audited, "rejected_audit_events": refused}
            )
        }
    )
    conditions = audit_condition(
        status.conditions,
        [event.event_type for event in due_audit_events(projected)],
        audited,
        refused,
        generation=wfe.metadata.generation or None,
        now=now,
    )
    return projected.status.model_copy(update={"conditions": conditions})


def merge_patch(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON merge patch (RFC 7386) from `old` to `new`: all of `new`, plus nulls for the keys
    that `new` no longer has (recursively in objects; lists are replaced whole)."""
    patch: dict[str, Any] = {}
    for key in old:
        if key not in new:
            patch[key] = None
    for key, value in new.items():
        previous = old.get(key)
        if isinstance(value, Mapping) and isinstance(previous, Mapping):
            patch[key] = merge_patch(previous, value)
        else:
            patch[key] = value
    return patch


def status_document(status: WorkflowExecutionStatus) -> dict[str, Any]:
    """The status as the controller writes it (and compares it)."""
    return status.to_api()
