"""Leader election between controller processes on a Lease: one leader, standbys that only watch
the Lease, takeover after the leader dies, exit on a lost Lease, release on a graceful stop."""

from __future__ import annotations

import signal
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from kubernaut_wfe.adapters.kube_resources import LEASES
from kubernaut_wfe_tools.testing.stack import EXECUTION_NAMESPACE, wfe_body

# The suite's stack lives in the sibling conftest (importlib mode: no absolute path).
from .conftest import (  # noqa: TID252
    CONTROLLER_NAMESPACE,
    LEADER_TIMINGS,
    LEASE_NAME,
    TRAIL,
    Stack,
)

pytestmark = pytest.mark.timeout(180)


def wfe_lists(stack: Stack) -> int:
    """LISTs of WorkflowExecutions served: each reconciling instance's kopf lists once."""
    return len(stack.requests.filter(verb="list", resource="workflowexecutions"))


async def test_without_leader_election_there_is_no_lease_traffic(stack: Stack) -> None:
    controller = await stack.start_controller()
    await stack.create(wfe_body("alone"))
    await stack.wait_phase("alone", "Completed")
    assert stack.requests.filter(resource="leases") == []
    ready = await stack.probe(controller, "/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["leader"] == "disabled"


async def test_only_the_leader_reconciles_and_a_standby_takes_over_after_it_dies(
    stack: Stack,
) -> None:
    leader = await stack.start_controller("--leader-elect", *LEADER_TIMINGS)
    identity = await stack.wait_for(leader.identity, what="the first instance to lead")
    await stack.wait_for(lambda: stack.holder_is(identity), what="the Lease to name the leader")
    await stack.wait_for(lambda: wfe_lists(stack) == 1, what="the leader's watches")
    standby = await stack.start_controller("--leader-elect", *LEADER_TIMINGS)
    await stack.wait_for(
        lambda: len(stack.requests.filter(verb="get", resource="leases")) >= 6,
        what="the standby to poll the Lease",
    )
    health = await stack.probe(standby, "/healthz")
    ready = await stack.probe(standby, "/readyz")
    assert health.status_code == 200
    assert ready.status_code == 503
    assert ready.json()["checks"]["leader"] == "standby"
    assert (await stack.probe(leader, "/readyz")).status_code == 200

    names = [f"handover-{index}" for index in range(3)]
    for name in names:
        await stack.create(wfe_body(name, delay_seconds=3))
    for name in names:
        await stack.wait_phase(name, "Running")
    assert wfe_lists(stack) == 1, "the standby must not watch or reconcile"
    assert standby.identity() is None

    await leader.stop(signal.SIGKILL)
    await stack.wait_for(standby.identity, what="the standby to take the Lease")
    assert await stack.holder() == standby.identity()
    for name in names:
        await stack.wait_phase(name, "Completed")
    assert stack.run_creations() == len(names)
    assert (await stack.probe(standby, "/readyz")).status_code == 200


async def test_a_lost_lease_stops_the_controller_with_a_failure(stack: Stack) -> None:
    leader = await stack.start_controller("--leader-elect", *LEADER_TIMINGS)
    identity = await stack.wait_for(leader.identity, what="the instance to lead")
    await stack.wait_for(lambda: stack.holder_is(identity), what="the Lease to name it")
    lease = await stack.lease()
    assert lease is not None
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    lease["spec"].update(holderIdentity="intruder_1", renewTime=now, leaseDurationSeconds=60)
    path = LEASES.path(CONTROLLER_NAMESPACE, LEASE_NAME)
    response = await stack.client.put(path, json=lease)
    assert response.status_code == 200, response.text

    code = await leader.exited()
    assert code not in (0, -signal.SIGKILL), leader.log()[-3000:]
    assert "lost the leader lease" in leader.log()
    assert await stack.holder() == "intruder_1"


async def test_a_lost_lease_delivers_no_audit_event_after_the_loss(
    stack: Stack, tmp_path: Path
) -> None:
    """Found by `make chaos`: a deposed leader that flushed its audit buffer could store events
    its successor had just asked DataStorage about, and was about to send: stored twice. The
    deposed one now drops its buffer; the successor delivers from the WFE's status, once."""
    config = tmp_path / "slow-flush.yaml"
    config.write_text("audit:\n  flush_interval: 5m\n", encoding="utf-8")
    leader = await stack.start_controller(
        "--leader-elect", *LEADER_TIMINGS, "--config", str(config)
    )
    identity = await stack.wait_for(leader.identity, what="the instance to lead")
    await stack.wait_for(lambda: stack.holder_is(identity), what="the Lease to name it")
    await stack.create(wfe_body("deposed"))
    await stack.wait_phase("deposed", "Completed")
    lease = await stack.lease()
    assert lease is not None
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    lease["spec"].update(holderIdentity="intruder_2", renewTime=now, leaseDurationSeconds=3)
    response = await stack.client.put(LEASES.path(CONTROLLER_NAMESPACE, LEASE_NAME), json=lease)
    assert response.status_code == 200, response.text
    await leader.exited()
    assert await stack.audit_events("rr-deposed") == [], "delivered after the Lease was lost"

    successor = await stack.start_controller("--leader-elect", *LEADER_TIMINGS)
    await stack.wait_for(successor.identity, what="the successor to lead")

    async def trail() -> list[str] | None:
        types = sorted(event["event_type"] for event in await stack.audit_events("rr-deposed"))
        return types if len(types) >= len(TRAIL) else None

    assert await stack.wait_for(trail, what="the trail from the successor") == sorted(TRAIL)


async def test_a_graceful_stop_releases_the_lease(stack: Stack) -> None:
    leader = await stack.start_controller("--leader-elect", *LEADER_TIMINGS)
    identity = await stack.wait_for(leader.identity, what="the instance to lead")
    await stack.wait_for(lambda: stack.holder_is(identity), what="the Lease to name it")
    assert await leader.stop(signal.SIGTERM) == 0
    assert await stack.holder() in ("", None)
    lease = await stack.lease()
    assert lease is not None
    assert lease["spec"]["leaseDurationSeconds"] == 1


async def test_a_standby_stops_gracefully_without_ever_leading(stack: Stack) -> None:
    leader = await stack.start_controller("--leader-elect", *LEADER_TIMINGS)
    await stack.wait_for(leader.identity, what="the first instance to lead")
    standby = await stack.start_controller("--leader-elect", *LEADER_TIMINGS)
    await stack.wait_for(
        lambda: "waiting for the leader lease" in standby.log(), what="the standby to wait"
    )
    assert await standby.stop(signal.SIGTERM) == 0
    assert await stack.holder() == leader.identity()


async def test_renewals_failing_past_the_deadline_stop_the_controller(stack: Stack) -> None:
    leader = await stack.start_controller("--leader-elect", *LEADER_TIMINGS)
    identity = await stack.wait_for(leader.identity, what="the instance to lead")
    await stack.wait_for(lambda: stack.holder_is(identity), what="the Lease to name it")
    stack.faults.add(action="error", status=503, verb="update", resource="leases",
                         count=100_000)  # fmt: skip

    code = await leader.exited()
    assert code not in (0, -signal.SIGKILL), leader.log()[-3000:]
    assert "renew deadline" in leader.log()


async def test_the_config_file_places_and_times_the_lease(stack: Stack) -> None:
    config = stack.tmp_path / "leader.yaml"
    controller_settings = {
        "leader_election": True,
        "leader_election_namespace": CONTROLLER_NAMESPACE,
        "leader_election_lease_duration": "7s",
        "leader_election_renew_deadline": "3s",
        "leader_election_retry_period": "1s",
    }
    config.write_text(yaml.safe_dump({"controller": controller_settings}), encoding="utf-8")
    # The controller's own namespace is another one: the file's namespace must win.
    leader = await stack.start_controller(
        "--config", str(config), env={"POD_NAMESPACE": EXECUTION_NAMESPACE}
    )
    identity = await stack.wait_for(leader.identity, what="the instance to lead")
    await stack.wait_for(lambda: stack.holder_is(identity), what="the Lease to name it")
    lease = await stack.lease()
    assert lease is not None
    assert lease["spec"]["leaseDurationSeconds"] == 7
