"""The pod status documents the kubelet writes through `pods/status`, and the binding the
scheduler would post. Pure: each status is built from the scenario, the moments it needs and the
status before it (whose condition transition times, start time and IPs it keeps)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kubernaut_wfe.constants import ConditionStatus, StepReason
from kubernaut_wfe_tools.node_simulator import messages
from kubernaut_wfe_tools.node_simulator.documents import identity
from kubernaut_wfe_tools.node_simulator.documents.conditions import pod_conditions
from kubernaut_wfe_tools.node_simulator.documents.events import EventSubject
from kubernaut_wfe_tools.node_simulator.documents.node import NodeIdentity
from kubernaut_wfe_tools.node_simulator.scenario import (
    SIGKILL_EXIT_CODE,
    SIGTERM_EXIT_CODE,
    PodScenario,
)
from kubernaut_wfe_tools.node_simulator.vocabulary import (
    KubeletContainerReason,
    KubeletEventReason,
    PodConditionReason,
    PodConditionType,
    PodPhase,
)
from kubernaut_wfe_tools.tekton_simulator.durations import rfc3339

Document = dict[str, Any]
Status = Mapping[str, Any]
_TERMINAL = frozenset({PodPhase.SUCCEEDED.value, PodPhase.FAILED.value})


def binding(scenario: EventSubject, node: str) -> Document:
    """The `pods/binding` body that assigns the pod to `node` (what the scheduler posts)."""
    return {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": scenario.name, "uid": scenario.uid},
        "target": {"apiVersion": "v1", "kind": "Node", "name": node},
    }


def is_terminal(status: Status | None) -> bool:
    return (status or {}).get("phase") in _TERMINAL


def container_state(status: Status | None) -> Mapping[str, Any]:
    """The workflow container's `state` in a pod status ({} when there is none yet)."""
    statuses = (status or {}).get("containerStatuses") or [{}]
    state: Mapping[str, Any] = statuses[0].get("state") or {}
    return state


# --- the statuses, in the order a pod goes through them ---------------------------------------


def scheduled(scenario: PodScenario, node: NodeIdentity, at: datetime) -> Document:
    """The kubelet's first status: the pod admitted, its volumes not mounted, no sandbox yet."""
    return _pending(scenario, node, None, at, sandbox=False)


def sandbox_ready(
    scenario: PodScenario, node: NodeIdentity, previous: Status, at: datetime
) -> Document:
    """Volumes mounted and the pod sandbox running (it has an IP); the container not created."""
    return _pending(scenario, node, previous, at, sandbox=True)


def waiting(
    scenario: PodScenario,
    node: NodeIdentity,
    previous: Status,
    at: datetime,
    *,
    reason: str,
    message: str,
) -> Document:
    """The container cannot be created (image pull, configuration): it waits with `reason`."""
    return _pending(scenario, node, previous, at, sandbox=True, reason=reason, message=message)


def running(scenario: PodScenario, node: NodeIdentity, previous: Status, at: datetime) -> Document:
    """The container started at `at` (and, without a readiness probe, is ready)."""
    state = {"running": {"startedAt": rfc3339(at)}}
    container = _container(scenario, state, created=True, ready=True, started=True)
    return _status(
        scenario, node, previous, at, phase=PodPhase.RUNNING, sandbox=True, container=container
    )


def exited(
    scenario: PodScenario,
    node: NodeIdentity,
    previous: Status,
    at: datetime,
    *,
    exit_code: int,
    reason: str,
) -> Document:
    """The container ended by itself at `at`: Succeeded on exit 0, Failed otherwise
    (`restartPolicy: Never`)."""
    phase = PodPhase.SUCCEEDED if exit_code == 0 else PodPhase.FAILED
    state = _terminated(scenario, previous, at, exit_code, reason)
    return _status(
        scenario,
        node,
        previous,
        at,
        phase=phase,
        sandbox=False,
        container=_container(scenario, state, created=True),
    )


def evicted(
    scenario: PodScenario, node: NodeIdentity, previous: Status, at: datetime, *, message: str
) -> Document:
    """Evicted by the kubelet for node pressure (killed at once: 137 `Error`): Failed, reason
    `Evicted`, and the `DisruptionTarget` condition a Job's pod failure policy looks for."""
    state = _terminated(scenario, previous, at, SIGKILL_EXIT_CODE, StepReason.ERROR)
    disruption = {
        "type": PodConditionType.DISRUPTION_TARGET.value,
        "status": ConditionStatus.TRUE.value,
        "reason": PodConditionReason.TERMINATION_BY_KUBELET.value,
        "message": message,
    }
    document = _status(
        scenario,
        node,
        previous,
        at,
        phase=PodPhase.FAILED,
        sandbox=False,
        container=_container(scenario, state, created=True),
        disruption=disruption,
    )
    document["reason"] = KubeletEventReason.EVICTED.value
    document["message"] = message
    return document


def killed(scenario: PodScenario, node: NodeIdentity, previous: Status, at: datetime) -> Document:
    """The status of a pod deleted before it ended: a running container stopped by SIGTERM
    (143 `Error`), one that never ran `ContainerStatusUnknown` (137); phase Failed."""
    if "running" in container_state(previous):
        state = _terminated(scenario, previous, at, SIGTERM_EXIT_CODE, StepReason.ERROR)
        container = _container(scenario, state, created=True)
    else:
        unknown = {
            "exitCode": SIGKILL_EXIT_CODE,
            "reason": KubeletContainerReason.CONTAINER_STATUS_UNKNOWN.value,
            "message": messages.CONTAINER_STATUS_UNKNOWN,
            "startedAt": None,
            "finishedAt": None,
        }
        container = _container(scenario, {"terminated": unknown})
    return _status(
        scenario, node, previous, at, phase=PodPhase.FAILED, sandbox=False, container=container
    )


# --- assembly ---------------------------------------------------------------------------------


def _pending(
    scenario: PodScenario,
    node: NodeIdentity,
    previous: Status | None,
    at: datetime,
    *,
    sandbox: bool,
    reason: str = KubeletContainerReason.CONTAINER_CREATING.value,
    message: str | None = None,
) -> Document:
    waiting_state: Document = {"reason": reason}
    if message is not None:
        waiting_state["message"] = message
    container = _container(scenario, {"waiting": waiting_state})
    return _status(
        scenario, node, previous, at, phase=PodPhase.PENDING, sandbox=sandbox, container=container
    )


def _terminated(
    scenario: PodScenario, previous: Status, at: datetime, exit_code: int, reason: str
) -> Document:
    started = (container_state(previous).get("running") or {}).get("startedAt") or rfc3339(at)
    return {
        "terminated": {
            "exitCode": exit_code,
            "reason": str(reason),
            "startedAt": started,
            "finishedAt": rfc3339(at),
            "containerID": identity.container_id(scenario.uid, scenario.container),
        }
    }


def _container(
    scenario: PodScenario,
    state: Mapping[str, Any],
    *,
    created: bool = False,
    ready: bool = False,
    started: bool = False,
) -> Document:
    """`containerStatuses[0]`: once the container exists, containerd's image name, digest and
    container ID; before, the image as the spec names it."""
    status: Document = {
        "name": scenario.container,
        "state": dict(state),
        "lastState": {},
        "ready": ready,
        "restartCount": 0,
        "image": identity.containerd_reference(scenario.image) if created else scenario.image,
        "imageID": identity.image_id(scenario.image) if created else "",
        "started": started,
    }
    if created:
        status["containerID"] = identity.container_id(scenario.uid, scenario.container)
    mounts = [_mount_status(mount) for mount in scenario.volume_mounts]
    if mounts:
        status["volumeMounts"] = mounts
    return status


def _mount_status(mount: Mapping[str, Any]) -> Document:
    status: Document = {"name": mount.get("name"), "mountPath": mount.get("mountPath")}
    if mount.get("readOnly"):
        status["readOnly"] = True
        status["recursiveReadOnly"] = "Disabled"
    return status


def _status(
    scenario: PodScenario,
    node: NodeIdentity,
    previous: Status | None,
    at: datetime,
    *,
    phase: PodPhase,
    sandbox: bool,
    container: Document,
    disruption: Document | None = None,
) -> Document:
    before = previous or {}
    document: Document = {
        "observedGeneration": scenario.generation,
        "phase": phase.value,
        "conditions": pod_conditions(
            scenario,
            before,
            at,
            phase=phase,
            sandbox=sandbox,
            ready=bool(container["ready"]),
            disruption=disruption,
        ),
        "hostIP": node.internal_ip,
        "hostIPs": [{"ip": node.internal_ip}],
        "startTime": before.get("startTime") or rfc3339(at),
        "containerStatuses": [container],
    }
    if sandbox or before.get("podIP"):
        ip = identity.pod_ip(scenario.uid, node.pod_cidr)
        document["podIP"] = ip
        document["podIPs"] = [{"ip": ip}]
    return document
