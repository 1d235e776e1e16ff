"""Pure: a compact view of a WorkflowExecution, what changed between two views, progress lines."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubernaut_wfe.constants import ConditionReason, ConditionType, Phase

TERMINAL_PHASES = frozenset({Phase.COMPLETED.value, Phase.FAILED.value})
AUDIT_PREFIX = "workflowexecution."
MESSAGE_WIDTH = 160


@dataclass(frozen=True)
class WfeView:
    """What the timeline shows of one WorkflowExecution."""

    key: str
    """`namespace/name`."""
    phase: str = ""
    run: str = ""
    failure_reason: str = ""
    was_execution_failure: bool | None = None
    message: str = ""
    """The first line of `failureDetails.message`, cut to MESSAGE_WIDTH."""
    duration: str = ""
    audited: tuple[str, ...] = ()
    rejected: tuple[str, ...] = ()
    audit_status: str = ""
    audit_reason: str = ""
    lock_reason: str = ""

    @property
    def terminal(self) -> bool:
        return self.phase in TERMINAL_PHASES

    @property
    def settled(self) -> bool:
        """Terminal, and the audit trail is no longer waiting for delivery."""
        return (
            self.terminal
            and bool(self.audit_reason)
            and self.audit_reason != ConditionReason.AUDIT_PENDING.value
        )


def _first_line(text: str) -> str:
    line = text.strip().split("\n", 1)[0]
    return line if len(line) <= MESSAGE_WIDTH else line[: MESSAGE_WIDTH - 1] + "…"


def wfe_key(obj: Mapping[str, Any]) -> str:
    metadata = obj.get("metadata") or {}
    return f"{metadata.get('namespace', '')}/{metadata.get('name', '')}"


def _condition(status: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    for condition in status.get("conditions") or []:
        if isinstance(condition, Mapping) and condition.get("type") == kind:
            return condition
    return {}


def view_of(obj: Mapping[str, Any]) -> WfeView:
    """The view of a WorkflowExecution object as the API returns it."""
    status: Mapping[str, Any] = obj.get("status") or {}
    failure: Mapping[str, Any] = status.get("failureDetails") or {}
    audit = _condition(status, ConditionType.AUDIT_RECORDED.value)
    lock = _condition(status, ConditionType.RESOURCE_LOCKED.value)
    was_execution_failure = failure.get("wasExecutionFailure")
    return WfeView(
        key=wfe_key(obj),
        phase=str(status.get("phase") or ""),
        run=str((status.get("pipelineRunRef") or {}).get("name") or ""),
        failure_reason=str(failure.get("reason") or ""),
        was_execution_failure=(
            was_execution_failure if isinstance(was_execution_failure, bool) else None
        ),
        message=_first_line(str(failure.get("message") or "")),
        duration=str(status.get("duration") or ""),
        audited=tuple(sorted(status.get("auditedEvents") or ())),
        rejected=tuple(sorted(status.get("rejectedAuditEvents") or ())),
        audit_status=str(audit.get("status") or ""),
        audit_reason=str(audit.get("reason") or ""),
        lock_reason=str(lock.get("reason") or "") if lock.get("status") == "True" else "",
    )


def short_event(event_type: str) -> str:
    """`workflowexecution.execution.started` → `execution.started`."""
    return event_type.removeprefix(AUDIT_PREFIX)


def _phase_line(new: WfeView) -> str:
    if new.phase == Phase.RUNNING.value:
        return f"Running (PipelineRun {new.run or '?'})"
    if new.phase == Phase.COMPLETED.value:
        return f"Completed in {new.duration}" if new.duration else "Completed"
    if new.phase == Phase.FAILED.value:
        flag = "" if new.was_execution_failure is None else str(new.was_execution_failure).lower()
        line = f"Failed reason={new.failure_reason or '?'} wasExecutionFailure={flag or '?'}"
        return f"{line}: {new.message}" if new.message else line
    if new.phase == Phase.PENDING.value and new.lock_reason:
        return f"Pending ({new.lock_reason}: the target is in its cooldown)"
    return new.phase or "(no phase)"


def describe_changes(old: WfeView | None, new: WfeView | None) -> list[str]:
    """Human-readable changes from `old` to `new` (None: absent); [] when none is visible."""
    if new is None:
        return ["deleted"] if old is not None else []
    lines: list[str] = []
    if old is None:
        lines.append("created" if not new.phase else f"seen in phase {_phase_line(new)}")
        old = WfeView(key=new.key, phase=new.phase, run=new.run)
    if new.phase != old.phase or (
        new.phase == Phase.PENDING.value and new.lock_reason != old.lock_reason
    ):
        lines.append(_phase_line(new))
    elif new.run != old.run and new.run:
        lines.append(f"PipelineRun {new.run}")
    delivered = [short_event(e) for e in new.audited if e not in old.audited]
    if delivered:
        lines.append(f"audit recorded: {', '.join(delivered)}")
    refused = [short_event(e) for e in new.rejected if e not in old.rejected]
    if refused:
        lines.append(f"audit REJECTED by DataStorage: {', '.join(refused)}")
    if new.audit_reason and (new.audit_status, new.audit_reason) != (
        old.audit_status,
        old.audit_reason,
    ):
        lines.append(f"{ConditionType.AUDIT_RECORDED.value} {new.audit_status}/{new.audit_reason}")
    return lines


def progress_line(view: WfeView, key_width: int) -> str:
    """One compact line per WFE for the redrawn display."""
    detail = view.failure_reason or view.lock_reason or view.run
    audit = f"audit {len(view.audited)}"
    if view.rejected:
        audit += f" ({len(view.rejected)} rejected)"
    if view.audit_reason:
        audit += f" {view.audit_reason}"
    mark = "✓" if view.settled else ("…" if not view.terminal else "·")
    return f"{mark} {view.key:<{key_width}}  {view.phase or '-':<9}  {detail:<22}  {audit}"
