"""LeaderElector against an in-memory Lease store (fake time via looptime): create on absence,
no theft of a fresh lease, takeover after expiry judged on our own clock, a 409 lost race,
loss on another holder or on renewals failing past the deadline, and release."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Mapping
from typing import Any

import pytest

from kubernaut_wfe.adapters.kube_errors import AlreadyExists, Conflict, Transient
from kubernaut_wfe.adapters.kube_resources import LEASES, Resource
from kubernaut_wfe.controller.leader import (
    LeaderElectionSettings,
    LeaderElector,
    LeaderLostError,
    election_namespace,
    election_settings,
)
from kubernaut_wfe.core.config import load_config

NAMESPACE = "kubernaut-system"
NAME = "workflowexecution.kubernaut.ai"


class FakeLeases:
    """Just enough of KubeClient for one Lease, with resourceVersion checks."""

    def __init__(self) -> None:
        self.lease: dict[str, Any] | None = None
        self.version = 0
        self.fail_writes = False
        self.writes = 0

    async def get(self, resource: Resource, name: str, namespace: str | None = None) -> Any:
        assert resource is LEASES
        return copy.deepcopy(self.lease)

    async def create(
        self, resource: Resource, body: Mapping[str, Any], namespace: str | None = None
    ) -> Any:
        if self.lease is not None:
            raise AlreadyExists(409, "AlreadyExists", "leases exists")
        return self._store(body)

    async def replace(
        self, resource: Resource, body: Mapping[str, Any], namespace: str | None = None
    ) -> Any:
        if self.fail_writes:
            raise Transient(503, "ServiceUnavailable", "injected")
        assert self.lease is not None
        if body["metadata"].get("resourceVersion") != self.lease["metadata"]["resourceVersion"]:
            raise Conflict(409, "Conflict", "stale resourceVersion")
        return self._store(body)

    def put_holder(self, holder: str, duration: int = 15) -> None:
        """Another candidate's write."""
        assert self.lease is not None
        lease = copy.deepcopy(self.lease)
        lease["spec"].update(holderIdentity=holder, leaseDurationSeconds=duration)
        self._store(lease)

    def _store(self, body: Mapping[str, Any]) -> Any:
        self.version += 1
        self.writes += 1
        stored = copy.deepcopy(dict(body))
        stored["metadata"] = {**stored["metadata"], "resourceVersion": str(self.version)}
        self.lease = stored
        return copy.deepcopy(stored)


def elector(store: FakeLeases, identity: str) -> LeaderElector:
    settings = LeaderElectionSettings(
        namespace=NAMESPACE, name=NAME, identity=identity,
        lease_duration=15, renew_deadline=10, retry_period=2,
    )  # fmt: skip
    loop = asyncio.get_running_loop()
    return LeaderElector(store, settings, monotonic=loop.time)  # type: ignore[arg-type]


def holder(store: FakeLeases) -> str:
    assert store.lease is not None
    return str(store.lease["spec"]["holderIdentity"])


@pytest.mark.looptime
async def test_the_first_candidate_creates_the_lease() -> None:
    store = FakeLeases()
    first = elector(store, "a_1")
    await first.acquire()
    assert first.is_leader
    assert holder(store) == "a_1"
    assert store.lease is not None
    assert store.lease["spec"]["leaseDurationSeconds"] == 15


@pytest.mark.looptime
async def test_a_standby_waits_for_expiry_on_its_own_clock_then_takes_over() -> None:
    store = FakeLeases()
    await elector(store, "a_1").acquire()
    standby = elector(store, "b_2")
    loop = asyncio.get_running_loop()
    started = loop.time()
    await standby.acquire()
    assert holder(store) == "b_2"
    assert store.lease is not None
    assert store.lease["spec"]["leaseTransitions"] == 1
    assert loop.time() - started >= 15


@pytest.mark.looptime
async def test_a_standby_never_takes_a_lease_that_keeps_being_renewed() -> None:
    store = FakeLeases()
    leader = elector(store, "a_1")
    await leader.acquire()
    renewing = asyncio.create_task(leader.hold())
    standby = asyncio.create_task(elector(store, "b_2").acquire())
    await asyncio.sleep(120)
    assert not standby.done()
    assert holder(store) == "a_1"
    standby.cancel()
    renewing.cancel()
    await asyncio.gather(standby, renewing, return_exceptions=True)


@pytest.mark.looptime
async def test_a_released_lease_is_taken_at_once() -> None:
    store = FakeLeases()
    leader = elector(store, "a_1")
    await leader.acquire()
    await leader.release()
    assert holder(store) == ""
    assert store.lease is not None
    assert store.lease["spec"]["leaseDurationSeconds"] == 1
    loop = asyncio.get_running_loop()
    started = loop.time()
    await elector(store, "b_2").acquire()
    assert loop.time() - started < 2


@pytest.mark.looptime
async def test_another_holder_in_the_lease_is_a_loss_at_once() -> None:
    store = FakeLeases()
    leader = elector(store, "a_1")
    await leader.acquire()
    store.put_holder("intruder_9")
    with pytest.raises(LeaderLostError, match="intruder_9"):
        await leader.hold()
    assert not leader.is_leader
    await leader.release()
    assert holder(store) == "intruder_9"


@pytest.mark.looptime
async def test_renewals_failing_past_the_deadline_are_a_loss() -> None:
    store = FakeLeases()
    leader = elector(store, "a_1")
    await leader.acquire()
    store.fail_writes = True
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(LeaderLostError, match="renew deadline"):
        await leader.hold()
    assert loop.time() - started >= 10


@pytest.mark.parametrize(
    ("flag", "environ", "kubeconfig", "expected"),
    [
        ("flagged", "pod-ns", "kc-ns", "flagged"),
        (None, "pod-ns", "kc-ns", "pod-ns"),
        (None, None, "kc-ns", "kc-ns"),
        (None, None, None, "kubernaut-system"),
    ],
)
def test_the_lease_namespace(
    monkeypatch: pytest.MonkeyPatch,
    flag: str | None,
    environ: str | None,
    kubeconfig: str | None,
    expected: str,
) -> None:
    if environ is None:
        monkeypatch.delenv("POD_NAMESPACE", raising=False)
    else:
        monkeypatch.setenv("POD_NAMESPACE", environ)
    assert election_namespace(flag, kubeconfig) == expected


def test_without_leader_election_there_are_no_election_settings() -> None:
    assert election_settings(load_config(None).controller, "kc-ns") is None


def test_the_election_settings_come_from_the_configuration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POD_NAMESPACE", "pod-ns")
    text = """
controller:
  leader_election: true
  leader_election_id: wfe-lease
  leader_election_namespace: leases
  leader_election_lease_duration: 4s
  leader_election_renew_deadline: 3s
  leader_election_retry_period: 500ms
"""
    settings = election_settings(load_config(text).controller, "kc-ns")
    assert settings is not None
    assert (settings.namespace, settings.name) == ("leases", "wfe-lease")
    assert (settings.lease_duration, settings.renew_deadline, settings.retry_period) == (
        4.0,
        3.0,
        0.5,
    )


def test_the_lease_namespace_defaults_to_the_controllers_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POD_NAMESPACE", "pod-ns")
    config = load_config("controller: {leader_election: true}\n")
    settings = election_settings(config.controller, "kc-ns")
    assert settings is not None
    assert settings.namespace == "pod-ns"
