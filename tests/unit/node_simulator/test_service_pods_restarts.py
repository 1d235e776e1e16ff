"""A service pod's restarts: the kubelet's back-off between them, and the texts of a restarting
container and of its probes."""

from __future__ import annotations

import pytest

from kubernaut_wfe_tools.node_simulator import messages
from kubernaut_wfe_tools.node_simulator.service_pods.player import back_off_seconds

POD = messages.pod_reference("kubernaut-wfe-controller-5d9c7-q2x4z", "kubernaut-system", "uid-1")


@pytest.mark.parametrize(
    ("restart", "ran_seconds", "delay"),
    [
        (1, 1.0, 0),  # the first restart is immediate
        (2, 1.0, 10),
        (3, 1.0, 20),
        (4, 1.0, 40),
        (5, 1.0, 80),
        (6, 1.0, 160),
        (7, 1.0, 300),  # 320, capped
        (30, 1.0, 300),
        (5, 599.0, 80),
        (5, 600.0, 0),  # a long run forgets the back-off
        (30, 3600.0, 0),
    ],
)
def test_back_off_seconds(restart: int, ran_seconds: float, delay: int) -> None:
    assert back_off_seconds(restart, ran_seconds) == delay


def test_the_pod_reference_is_name_namespace_and_uid() -> None:
    assert POD == "kubernaut-wfe-controller-5d9c7-q2x4z_kubernaut-system(uid-1)"


@pytest.mark.parametrize(
    ("seconds", "duration"),
    [(10, "10s"), (40, "40s"), (80, "1m20s"), (160, "2m40s"), (300, "5m0s")],
)
def test_the_crash_loop_message_writes_the_back_off_as_go_does(seconds: int, duration: str) -> None:
    assert messages.crash_loop_waiting(seconds, "controller", POD) == (
        f"back-off {duration} restarting failed container=controller pod={POD}"
    )


def test_the_back_off_event() -> None:
    assert messages.back_off_restarting("controller", POD) == (
        f"Back-off restarting failed container controller in pod {POD}"
    )


def test_a_probe_answered_with_an_error_status() -> None:
    text = messages.probe_failed("Liveness", messages.probe_status_code(500))

    assert text == "Liveness probe failed: HTTP probe failed with statuscode: 500"


def test_a_probe_refused_a_connection() -> None:
    error = messages.connection_refused("10.244.0.7:8081")
    text = messages.probe_failed(
        "Readiness", messages.probe_get_failed("http://10.244.0.7:8081/readyz", error)
    )

    assert text == (
        'Readiness probe failed: Get "http://10.244.0.7:8081/readyz": '
        "dial tcp 10.244.0.7:8081: connect: connection refused"
    )


def test_a_probe_that_timed_out() -> None:
    text = messages.probe_get_failed("http://10.244.0.7:8081/healthz", messages.PROBE_TIMEOUT)

    assert text == (
        'Get "http://10.244.0.7:8081/healthz": '
        "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
    )


def test_a_container_that_failed_its_liveness_probe_is_restarted() -> None:
    assert messages.liveness_restart("controller") == (
        "Container controller failed liveness probe, will be restarted"
    )
