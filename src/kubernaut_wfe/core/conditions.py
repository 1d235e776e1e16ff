"""`metav1.Condition` helpers (spec §4): pure, returning new lists."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from kubernaut_wfe.constants import (
    ConditionReason,
    ConditionStatus,
    ConditionType,
    FailureReason,
    Phase,
)
from kubernaut_wfe.core.models import Condition

CONDITION_MESSAGE_MAX = 32768


def truncate(text: str, limit: int) -> str:
    """At most `limit` characters; a cut text ends with `...` so readers see it was cut."""
    if len(text) <= limit:
        return text
    return text[: limit - 3] + "..."


def get_condition(conditions: Sequence[Condition], condition_type: str) -> Condition | None:
    """The condition of that type, if any."""
    return next((c for c in conditions if c.type == condition_type), None)


def set_condition(
    conditions: Sequence[Condition],
    condition_type: str,
    status: ConditionStatus,
    reason: str,
    message: str,
    *,
    generation: int | None,
    now: datetime,
) -> list[Condition]:
    """A new list with the condition set; `lastTransitionTime` moves only when status flips."""
    existing = get_condition(conditions, condition_type)
    transition = now
    if existing is not None and existing.status == status:
        transition = existing.last_transition_time
    updated = Condition(
        type=condition_type,
        status=status,
        reason=reason,
        message=truncate(message, CONDITION_MESSAGE_MAX),
        last_transition_time=transition,
        observed_generation=generation,
    )
    if existing is None:
        return [*conditions, updated]
    return [updated if c.type == condition_type else c for c in conditions]


def ready_condition(
    phase: Phase | None, failure_reason: FailureReason | None, message: str = ""
) -> tuple[ConditionStatus, str, str]:
    """`(status, reason, message)` of the Ready summary condition for a phase."""
    if phase == Phase.COMPLETED:
        return ConditionStatus.TRUE, ConditionReason.COMPLETED, message or "Workflow completed"
    if phase == Phase.FAILED:
        reason = failure_reason or FailureReason.UNKNOWN
        return ConditionStatus.FALSE, reason, message or "Workflow failed"
    if phase == Phase.RUNNING:
        return ConditionStatus.UNKNOWN, ConditionReason.RUNNING, message or "PipelineRun is running"
    return ConditionStatus.UNKNOWN, ConditionReason.PENDING, message or "Waiting to start"


def set_ready(
    conditions: Sequence[Condition],
    phase: Phase | None,
    failure_reason: FailureReason | None,
    message: str,
    *,
    generation: int | None,
    now: datetime,
) -> list[Condition]:
    """Set the Ready condition consistently with the phase."""
    status, reason, text = ready_condition(phase, failure_reason, message)
    return set_condition(
        conditions, ConditionType.READY, status, reason, text, generation=generation, now=now
    )
