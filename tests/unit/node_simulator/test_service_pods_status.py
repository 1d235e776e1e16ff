"""The statuses the node stand-in writes for a service pod (a Deployment's pod that runs until
it is deleted): created, running, backing off after exits, stopped."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kubernaut_wfe_tools.node_simulator.service_pods.status import (
    Ended,
    PodFacts,
    running,
    stopped,
    waiting,
)

T0 = datetime(2026, 8, 1, 10, 0, 0, tzinfo=UTC)
IMAGE = "kubernaut-wfe:0.1.0"
FULL_IMAGE = "docker.io/library/kubernaut-wfe:0.1.0"
Validate = Callable[[Mapping[str, Any]], None]
BEFORE_SANDBOX = PodFacts(
    uid="6f1c2a7e-0b7d-4f8e-9a51-3c2d1e0f9a8b",
    container="controller",
    image=IMAGE,
    generation=1,
    host_ip="172.18.0.2",
)
FACTS = replace(BEFORE_SANDBOX, pod_ip="10.244.0.7")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def stamp(seconds: float) -> str:
    return at(seconds).strftime("%Y-%m-%dT%H:%M:%SZ")


def conditions(status: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {c["type"]: c for c in status["conditions"]}


def container_of(status: Mapping[str, Any]) -> Mapping[str, Any]:
    statuses = status["containerStatuses"]
    assert len(statuses) == 1
    container: Mapping[str, Any] = statuses[0]
    return container


def ended(restart: int, *, exit_code: int = 1, oom: bool = False, start: float = 10) -> Ended:
    return Ended(
        exit_code=exit_code,
        oom_killed=oom,
        started_at=at(start),
        finished_at=at(start + 5),
        restart=restart,
    )


def as_pod(status: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "controller-0", "namespace": "kubernaut-system"},
        "spec": {"containers": [{"name": "controller", "image": IMAGE}]},
        "status": status,
    }


def test_before_the_sandbox_the_pod_is_pending_without_an_ip() -> None:
    status = waiting(BEFORE_SANDBOX, {}, at(0))

    assert status["phase"] == "Pending"
    assert "podIP" not in status
    assert "podIPs" not in status
    assert status["hostIP"] == "172.18.0.2"
    assert status["startTime"] == stamp(0)
    assert conditions(status)["PodReadyToStartContainers"]["status"] == "False"
    assert conditions(status)["Ready"]["status"] == "False"
    container = container_of(status)
    assert container["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert container["restartCount"] == 0
    assert container["lastState"] == {}
    assert container["image"] == IMAGE, "the image is named as the spec does until it runs"
    assert container["imageID"] == ""
    assert "containerID" not in container


def test_with_the_sandbox_the_pod_has_its_ip_and_keeps_its_start_time() -> None:
    first = waiting(BEFORE_SANDBOX, {}, at(0))

    status = waiting(FACTS, first, at(1))

    assert status["phase"] == "Pending"
    assert status["podIP"] == "10.244.0.7"
    assert status["podIPs"] == [{"ip": "10.244.0.7"}]
    assert status["startTime"] == stamp(0)
    assert conditions(status)["PodReadyToStartContainers"]["status"] == "True"
    assert conditions(status)["PodReadyToStartContainers"]["lastTransitionTime"] == stamp(1)


def test_a_refused_container_waits_with_the_reason_and_message() -> None:
    status = waiting(
        FACTS, {}, at(2), reason="CreateContainerConfigError", message='configmap "x" not found'
    )

    assert status["phase"] == "Pending"
    assert container_of(status)["state"] == {
        "waiting": {"reason": "CreateContainerConfigError", "message": 'configmap "x" not found'}
    }


@pytest.mark.parametrize("ready", [False, True])
def test_a_running_container_is_ready_as_told(ready: bool) -> None:
    status = running(FACTS, {}, at(3), started_at=at(2), restart=0, ready=ready, last=None)

    assert status["phase"] == "Running"
    container = container_of(status)
    assert container["state"] == {"running": {"startedAt": stamp(2)}}
    assert container["ready"] is ready
    assert container["started"] is True
    assert container["image"] == FULL_IMAGE
    assert container["imageID"].startswith("docker.io/library/kubernaut-wfe@sha256:")
    assert container["containerID"].startswith("containerd://")
    for kind in ("Ready", "ContainersReady"):
        assert conditions(status)[kind]["status"] == ("True" if ready else "False")
    if not ready:
        assert conditions(status)["Ready"]["reason"] == "ContainersNotReady"
        assert conditions(status)["Ready"]["message"] == (
            "containers with unready status: [controller]"
        )


def test_a_condition_keeps_its_transition_time_until_its_status_changes() -> None:
    not_ready = running(FACTS, {}, at(3), started_at=at(2), restart=0, ready=False, last=None)
    still = running(FACTS, not_ready, at(8), started_at=at(2), restart=0, ready=False, last=None)
    ready = running(FACTS, still, at(13), started_at=at(2), restart=0, ready=True, last=None)

    assert conditions(still)["Ready"]["lastTransitionTime"] == stamp(3)
    assert conditions(ready)["Ready"]["lastTransitionTime"] == stamp(13)
    assert conditions(ready)["PodScheduled"]["lastTransitionTime"] == stamp(3)


def test_after_an_exit_the_container_backs_off_and_the_pod_stays_running() -> None:
    first = running(FACTS, {}, at(10), started_at=at(10), restart=0, ready=True, last=None)
    exit_ = ended(0)

    status = waiting(
        FACTS,
        first,
        at(15),
        reason="CrashLoopBackOff",
        message="back-off 10s restarting failed container=controller pod=p_ns(u)",
        last=exit_,
    )

    assert status["phase"] == "Running"
    assert conditions(status)["Ready"]["status"] == "False"
    container = container_of(status)
    assert container["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert container["restartCount"] == 1
    assert container["ready"] is False
    assert container["started"] is False
    assert container["lastState"] == {
        "terminated": {
            "exitCode": 1,
            "reason": "Error",
            "startedAt": stamp(10),
            "finishedAt": stamp(15),
            "containerID": container_of(first)["containerID"],
        }
    }
    assert container["containerID"] == container_of(first)["containerID"], (
        "backing off, the status still names the container that ended"
    )


def test_each_restart_is_a_new_container_with_the_last_run_as_last_state() -> None:
    first = running(FACTS, {}, at(10), started_at=at(10), restart=0, ready=True, last=None)
    second = running(FACTS, first, at(16), started_at=at(16), restart=1, ready=False, last=ended(0))
    third = running(
        FACTS, second, at(40), started_at=at(40), restart=2, ready=False, last=ended(1, start=16)
    )

    ids = [container_of(s)["containerID"] for s in (first, second, third)]
    assert len(set(ids)) == 3
    assert container_of(second)["restartCount"] == 1
    assert container_of(third)["restartCount"] == 2
    assert container_of(second)["lastState"]["terminated"]["containerID"] == ids[0]
    assert container_of(third)["lastState"]["terminated"]["containerID"] == ids[1]
    assert container_of(third)["lastState"]["terminated"]["startedAt"] == stamp(16)


def test_an_oom_killed_run_is_reported_as_such() -> None:
    status = waiting(
        FACTS, {}, at(20), reason="CrashLoopBackOff", last=ended(0, exit_code=137, oom=True)
    )

    terminated = container_of(status)["lastState"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (137, "OOMKilled")


@pytest.mark.parametrize(
    ("exit_code", "phase", "reason", "condition_reason"),
    [(0, "Succeeded", "Completed", "PodCompleted"), (143, "Failed", "Error", "PodFailed")],
)
def test_a_stopped_pod_succeeds_on_zero_and_fails_otherwise(
    exit_code: int, phase: str, reason: str, condition_reason: str
) -> None:
    before = running(FACTS, {}, at(10), started_at=at(10), restart=0, ready=True, last=None)

    status = stopped(FACTS, before, at(60), ended(0, exit_code=exit_code, start=10))

    assert status["phase"] == phase
    container = container_of(status)
    assert container["state"]["terminated"]["exitCode"] == exit_code
    assert container["state"]["terminated"]["reason"] == reason
    assert container["state"]["terminated"]["containerID"] == container["containerID"]
    assert container["containerID"] == container_of(before)["containerID"]
    assert (container["ready"], container["started"]) == (False, False)
    assert container["lastState"] == {}
    assert conditions(status)["Ready"]["reason"] == condition_reason
    assert conditions(status)["PodReadyToStartContainers"]["status"] == "False"


def test_a_stopped_pod_keeps_the_last_state_of_its_earlier_run() -> None:
    before = running(FACTS, {}, at(16), started_at=at(16), restart=1, ready=True, last=ended(0))

    status = stopped(FACTS, before, at(60), ended(1, exit_code=0, start=16))

    container = container_of(status)
    assert container["restartCount"] == 1
    assert container["lastState"] == container_of(before)["lastState"]


def test_every_status_fits_the_pod_schema(validate: Validate) -> None:
    created = waiting(BEFORE_SANDBOX, {}, at(0))
    ready = running(FACTS, created, at(3), started_at=at(2), restart=0, ready=True, last=None)
    backing_off = waiting(
        FACTS, ready, at(9), reason="CrashLoopBackOff", message="m", last=ended(0)
    )
    restarted = running(
        FACTS, backing_off, at(20), started_at=at(20), restart=1, ready=False, last=ended(0)
    )
    final = stopped(FACTS, restarted, at(30), ended(1, exit_code=0, start=20))

    for status in (created, ready, backing_off, restarted, final):
        validate(as_pod(status))
