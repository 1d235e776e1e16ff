"""Kubernetes Events in the August 2026 contract's vocabulary (platform contract §6), for the
WFEs that contract's orchestrator writes (catalog snapshots): a January WFE keeps the Events of
the January contract, exactly as before.

Upstream posts `WorkflowValidated` on every Pending reconcile and `CooldownActive` on every
reconcile of a waiting WFE; here each is posted once, when it becomes true.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from kubernaut_wfe.constants import EventReason, EventType, Phase, RunKind
from kubernaut_wfe.core.actions import Decision, KubeEvent
from kubernaut_wfe.core.durations import format_duration
from kubernaut_wfe.core.engines import engine_of
from kubernaut_wfe.core.models import WorkflowExecution

ARROW = "\u2192"


def speaks_newest(wfe: WorkflowExecution) -> bool:
    """Whether the WFE is a catalog snapshot (the newest orchestrator's shape)."""
    return bool(wfe.spec.workflow_ref.execution_bundle)


def run_started_events(
    wfe: WorkflowExecution, run_ref: str, *, adopted: bool, kind: RunKind = RunKind.PIPELINE_RUN
) -> list[KubeEvent]:
    """The Events of the create (or adoption) of the WFE's run (`kind` names it)."""
    if not speaks_newest(wfe):
        verb = "Adopted" if adopted else "Created"
        return [
            KubeEvent(
                EventReason.PIPELINE_RUN_CREATED, EventType.NORMAL, f"{verb} {kind} {run_ref}"
            )
        ]
    validated = KubeEvent(
        EventReason.WORKFLOW_VALIDATED,
        EventType.NORMAL,
        f"Workflow spec validated: {wfe.spec.workflow_ref.workflow_id}"
        f" (target: {wfe.spec.target_resource})",
    )
    if adopted:
        started = KubeEvent(
            EventReason.PIPELINE_RUN_CREATED,
            EventType.NORMAL,
            f"{kind} {run_ref} (already exists, ours)",
        )
    else:
        started = KubeEvent(
            EventReason.EXECUTION_CREATED,
            EventType.NORMAL,
            f"Created {engine_of(wfe.spec)} execution resource {run_ref}",
        )
    return [validated, started]


def validation_failed(wfe: WorkflowExecution, decision: Decision, message: str) -> Decision:
    """`decision` (a failure before any run: the spec, or an engine not run here) with
    `WorkflowValidationFailed` first."""
    if not speaks_newest(wfe):
        return decision
    event = KubeEvent(EventReason.WORKFLOW_VALIDATION_FAILED, EventType.WARNING, message)
    return dataclasses.replace(decision, events=(event, *decision.events))


def cooldown_active(wfe: WorkflowExecution, decision: Decision, remaining: timedelta) -> Decision:
    """`decision` (the write that starts a wait behind a cooldown) with `CooldownActive`."""
    if not speaks_newest(wfe) or decision.status is None:
        return decision
    event = KubeEvent(
        EventReason.COOLDOWN_ACTIVE,
        EventType.NORMAL,
        f"Execution deferred: cooldown active for {wfe.spec.target_resource}"
        f" (remaining: {format_duration(remaining)})",
    )
    return dataclasses.replace(decision, events=(*decision.events, event))


def cleanup_failed(namespace: str, name: str, error: str) -> KubeEvent:
    """The Warning posted when deleting a deleted WFE's run failed (for every WFE: it says the
    finalizer stays and why)."""
    return KubeEvent(
        EventReason.CLEANUP_FAILED,
        EventType.WARNING,
        f"Deleting PipelineRun {namespace}/{name} failed ({error}); the finalizer stays and the"
        " delete is retried",
    )


def phase_transition(wfe: WorkflowExecution, decision: Decision) -> Decision:
    """`decision` with `PhaseTransition` when its status changes the WFE's phase."""
    if not speaks_newest(wfe) or decision.status is None or decision.status.phase is None:
        return decision
    before = wfe.status.phase or Phase.PENDING
    after = decision.status.phase
    if before == after:
        return decision
    event = KubeEvent(
        EventReason.PHASE_TRANSITION,
        EventType.NORMAL,
        f"Phase transition: {before} {ARROW} {after}",
    )
    return dataclasses.replace(decision, events=(*decision.events, event))
