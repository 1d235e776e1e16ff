"""The pod conditions the kubelet owns (and the `DisruptionTarget` it adds on eviction), as
`pkg/kubelet/status` generates them for a pod without init containers or readiness gates."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from kubernaut_wfe.constants import ConditionStatus
from kubernaut_wfe_tools.node_simulator import messages
from kubernaut_wfe_tools.node_simulator.vocabulary import (
    PodConditionReason,
    PodConditionType,
    PodPhase,
)
from kubernaut_wfe_tools.tekton_simulator.durations import rfc3339

Document = dict[str, Any]


class PodSubject(Protocol):
    """What the conditions name of a pod: its one container, and the generation observed
    (a Job's pod scenario, a service pod's plan)."""

    @property
    def container(self) -> str: ...

    @property
    def generation(self) -> int: ...


def pod_conditions(
    scenario: PodSubject,
    previous: Mapping[str, Any],
    at: datetime,
    *,
    phase: PodPhase,
    sandbox: bool,
    ready: bool,
    disruption: Mapping[str, Any] | None,
) -> list[Document]:
    """The kubelet's conditions of a pod in `phase` at `at`, in its order, a `DisruptionTarget`
    first (set once, then kept); each keeps its transition time from `previous` (the status
    before) while its status does not change."""
    terminal = phase in {PodPhase.SUCCEEDED, PodPhase.FAILED}
    readiness = _readiness(scenario, phase, ready=ready)
    initialized = _condition_body(
        PodConditionType.INITIALIZED,
        ConditionStatus.TRUE,
        PodConditionReason.POD_COMPLETED if phase is PodPhase.SUCCEEDED else None,
    )
    wanted = [
        _condition_body(
            PodConditionType.POD_READY_TO_START_CONTAINERS, _truth(sandbox and not terminal)
        ),
        initialized,
        _condition_body(PodConditionType.READY, *readiness),
        _condition_body(PodConditionType.CONTAINERS_READY, *readiness),
        _condition_body(PodConditionType.POD_SCHEDULED, ConditionStatus.TRUE),
    ]
    before = {c.get("type"): c for c in previous.get("conditions") or []}
    kept = disruption or before.get(PodConditionType.DISRUPTION_TARGET.value)
    if kept:
        wanted.insert(0, dict(kept))
    return [_condition(scenario, before, at, condition) for condition in wanted]


def _readiness(
    scenario: PodSubject, phase: PodPhase, *, ready: bool
) -> tuple[ConditionStatus, PodConditionReason | None, str | None]:
    """`Ready` and `ContainersReady` (the same without readiness gates)."""
    if phase is PodPhase.SUCCEEDED:
        return ConditionStatus.FALSE, PodConditionReason.POD_COMPLETED, None
    if phase is PodPhase.FAILED:
        return ConditionStatus.FALSE, PodConditionReason.POD_FAILED, None
    if ready:
        return ConditionStatus.TRUE, None, None
    message = messages.containers_not_ready([scenario.container])
    return ConditionStatus.FALSE, PodConditionReason.CONTAINERS_NOT_READY, message


def _condition_body(
    kind: PodConditionType,
    status: ConditionStatus,
    reason: PodConditionReason | None = None,
    message: str | None = None,
) -> Document:
    body: Document = {"type": kind.value, "status": status.value}
    if reason is not None:
        body["reason"] = reason.value
    if message is not None:
        body["message"] = message
    return body


def _condition(
    scenario: PodSubject, before: Mapping[str, Any], at: datetime, condition: Mapping[str, Any]
) -> Document:
    """The condition with the kubelet's bookkeeping: its transition time moves only when its
    status changes."""
    old = before.get(condition["type"]) or {}
    unchanged = old.get("status") == condition["status"] and old.get("lastTransitionTime")
    return {
        **condition,
        "observedGeneration": scenario.generation,
        "lastProbeTime": None,
        "lastTransitionTime": old["lastTransitionTime"] if unchanged else rfc3339(at),
    }


def _truth(value: bool) -> ConditionStatus:
    return ConditionStatus.TRUE if value else ConditionStatus.FALSE
