"""The statuses the kubelet writes for a pod that runs until it is deleted (a Deployment's pod,
`restartPolicy: Always`), pure: waiting to be created, running (ready or not), waiting in
`CrashLoopBackOff` after an exit, and stopped for its deletion."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kubernaut_wfe.constants import StepReason
from kubernaut_wfe_tools.node_simulator.documents import identity
from kubernaut_wfe_tools.node_simulator.documents.conditions import pod_conditions
from kubernaut_wfe_tools.node_simulator.vocabulary import KubeletContainerReason, PodPhase
from kubernaut_wfe_tools.tekton_simulator.durations import rfc3339

Document = dict[str, Any]
OOM_KILLED = "OOMKilled"


@dataclass(frozen=True)
class PodFacts:
    """What every status of the pod says: its container, where it runs."""

    uid: str
    container: str
    image: str
    generation: int
    host_ip: str
    pod_ip: str | None = None


@dataclass(frozen=True)
class Ended:
    """One run of the container that ended."""

    exit_code: int
    oom_killed: bool
    started_at: datetime
    finished_at: datetime
    restart: int
    """Which start of the container it was (0: the first)."""


def terminated_state(facts: PodFacts, ended: Ended) -> Document:
    if ended.oom_killed:
        reason = OOM_KILLED
    else:
        reason = StepReason.COMPLETED.value if ended.exit_code == 0 else StepReason.ERROR.value
    return {
        "terminated": {
            "exitCode": ended.exit_code,
            "reason": reason,
            "startedAt": rfc3339(ended.started_at),
            "finishedAt": rfc3339(ended.finished_at),
            "containerID": _container_id(facts, ended.restart),
        }
    }


def waiting(
    facts: PodFacts,
    previous: Mapping[str, Any],
    at: datetime,
    *,
    reason: str = KubeletContainerReason.CONTAINER_CREATING.value,
    message: str | None = None,
    last: Ended | None = None,
) -> Document:
    """Not running: being created (`ContainerCreating`, the sandbox not up while `pod_ip` is
    None), refused (`CreateContainerConfigError`) or backing off after `last` ended
    (`CrashLoopBackOff`); the pod stays Pending until its container first ran."""
    state: Document = {"reason": reason}
    if message is not None:
        state["message"] = message
    phase = PodPhase.RUNNING if last is not None else PodPhase.PENDING
    restarts = 0 if last is None else last.restart + 1
    # Backing off, the status still names the container that ended (its ID stays).
    run = None if last is None else last.restart
    container = _container(facts, {"waiting": state}, restarts=restarts, last=last, run=run)
    return _status(facts, previous, at, phase=phase, container=container)


def running(
    facts: PodFacts,
    previous: Mapping[str, Any],
    at: datetime,
    *,
    started_at: datetime,
    restart: int,
    ready: bool,
    last: Ended | None,
) -> Document:
    """The container's `restart`-th run, started at `started_at`; ready or not."""
    state = {"running": {"startedAt": rfc3339(started_at)}}
    container = _container(
        facts, state, restarts=restart, last=last, ready=ready, started=True, run=restart
    )
    return _status(facts, previous, at, phase=PodPhase.RUNNING, container=container)


def stopped(facts: PodFacts, previous: Mapping[str, Any], at: datetime, ended: Ended) -> Document:
    """The pod's last status before the kubelet deletes it: the container stopped for the
    deletion, the pod Succeeded when it exited 0, else Failed."""
    phase = PodPhase.SUCCEEDED if ended.exit_code == 0 else PodPhase.FAILED
    previous_last = _last_of(previous)
    container = _container(
        facts, terminated_state(facts, ended), restarts=ended.restart, run=ended.restart
    )
    if previous_last:
        container["lastState"] = previous_last
    return _status(facts, previous, at, phase=phase, container=container)


def _last_of(previous: Mapping[str, Any]) -> Document:
    statuses = previous.get("containerStatuses") or [{}]
    last: Document = dict(statuses[0].get("lastState") or {})
    return last


def _container(
    facts: PodFacts,
    state: Mapping[str, Any],
    *,
    restarts: int,
    last: Ended | None = None,
    ready: bool = False,
    started: bool = False,
    run: int | None = None,
) -> Document:
    created = run is not None or last is not None
    status: Document = {
        "name": facts.container,
        "state": dict(state),
        "lastState": terminated_state(facts, last) if last is not None else {},
        "ready": ready,
        "restartCount": restarts,
        "image": identity.containerd_reference(facts.image) if created else facts.image,
        "imageID": identity.image_id(facts.image) if created else "",
        "started": started,
    }
    if run is not None:
        status["containerID"] = _container_id(facts, run)
    return status


def _container_id(facts: PodFacts, run: int) -> str:
    """Each start is a new container, with its own ID."""
    return identity.container_id(facts.uid, f"{facts.container}/{run}")


def _status(
    facts: PodFacts,
    previous: Mapping[str, Any],
    at: datetime,
    *,
    phase: PodPhase,
    container: Document,
) -> Document:
    document: Document = {
        "observedGeneration": facts.generation,
        "phase": phase.value,
        "conditions": pod_conditions(
            facts,
            previous,
            at,
            phase=phase,
            sandbox=facts.pod_ip is not None,
            ready=bool(container["ready"]),
            disruption=None,
        ),
        "hostIP": facts.host_ip,
        "hostIPs": [{"ip": facts.host_ip}],
        "startTime": previous.get("startTime") or rfc3339(at),
        "containerStatuses": [container],
    }
    if facts.pod_ip is not None:
        document["podIP"] = facts.pod_ip
        document["podIPs"] = [{"ip": facts.pod_ip}]
    return document
