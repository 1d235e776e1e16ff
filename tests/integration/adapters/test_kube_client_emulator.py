"""KubeClient against the project's API emulator over real HTTP."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from kubernaut_wfe.adapters.kube import (
    CUSTOM_RESOURCE_DEFINITIONS,
    EVENTS,
    LEASES,
    PIPELINE_RUNS,
    AlreadyExists,
    Conflict,
    Invalid,
    KubeClient,
    KubeConnection,
    RetryPolicy,
    Transient,
)
from kubernaut_wfe.adapters.kubeconfig import load_kubeconfig
from kubernaut_wfe.constants import CRD_NAME, EventReason, EventType, Label
from kubernaut_wfe_tools.emulator.server import ApiEmulator

POLICY = RetryPolicy(initial_delay=0.1, max_delay=2.0, max_attempts=4)


class Ceiling(random.Random):
    """Jitter at its top: every delay is its whole base, so the delays are exact."""

    def uniform(self, a: float, b: float) -> float:
        return b


NAMESPACE = "default"


class Sleeps:
    """Records the backoff instead of waiting it out."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
async def emulator() -> AsyncIterator[ApiEmulator]:
    emu = ApiEmulator()
    async with emu.serving(host="127.0.0.1", port=0):
        yield emu


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def kube(emulator: ApiEmulator, tmp_path: Path, sleeps: Sleeps) -> AsyncIterator[KubeClient]:
    config = load_kubeconfig(str(emulator.write_kubeconfig(tmp_path / "kubeconfig")))
    connection = KubeConnection.open(config)
    async with KubeClient(connection, retry=POLICY, sleep=sleeps, rng=Ceiling()) as client:
        yield client


def pipeline_run(name: str, wfe: str = "wfe-1") -> dict[str, Any]:
    return {
        "apiVersion": PIPELINE_RUNS.api_version,
        "kind": PIPELINE_RUNS.kind,
        "metadata": {"name": name, "labels": {Label.WORKFLOW_EXECUTION: wfe}},
        "spec": {"pipelineRef": {"name": "workflow"}},
    }


def requests_to(emulator: ApiEmulator, verb: str, name: str) -> int:
    return sum(1 for record in emulator.request_log if record.verb == verb and record.name == name)


async def test_create_get_and_list_with_selectors(kube: KubeClient) -> None:
    created = await kube.create(PIPELINE_RUNS, pipeline_run("wfe-a", wfe="one"))
    await kube.create(PIPELINE_RUNS, pipeline_run("wfe-b", wfe="two"))
    assert created["metadata"]["namespace"] == NAMESPACE  # the kubeconfig's namespace
    fetched = await kube.get(PIPELINE_RUNS, "wfe-a")
    assert fetched is not None
    assert fetched["metadata"]["uid"] == created["metadata"]["uid"]
    selected = await kube.list(
        PIPELINE_RUNS, NAMESPACE, label_selector=f"{Label.WORKFLOW_EXECUTION}=two"
    )
    assert [item["metadata"]["name"] for item in selected] == ["wfe-b"]
    by_field = await kube.list(PIPELINE_RUNS, NAMESPACE, field_selector="metadata.name=wfe-a")
    assert [item["metadata"]["name"] for item in by_field] == ["wfe-a"]


async def test_list_pages_through_continue_tokens(kube: KubeClient) -> None:
    for index in range(5):
        await kube.create(PIPELINE_RUNS, pipeline_run(f"wfe-{index}"))
    items = await kube.list(PIPELINE_RUNS, NAMESPACE, limit=2)
    assert sorted(item["metadata"]["name"] for item in items) == [f"wfe-{i}" for i in range(5)]
    assert all(item["kind"] == "PipelineRun" for item in items)


async def test_missing_objects_are_none(kube: KubeClient) -> None:
    assert await kube.get(PIPELINE_RUNS, "ghost") is None
    assert await kube.delete(PIPELINE_RUNS, "ghost") is None


async def test_second_create_is_already_exists(kube: KubeClient) -> None:
    await kube.create(PIPELINE_RUNS, pipeline_run("wfe-a"))
    with pytest.raises(AlreadyExists):
        await kube.create(PIPELINE_RUNS, pipeline_run("wfe-a"))


async def test_schema_violations_are_invalid_with_field_causes(kube: KubeClient) -> None:
    body = pipeline_run("wfe-a")
    body["spec"]["pipelineRef"]["name"] = 5
    with pytest.raises(Invalid) as caught:
        await kube.create(PIPELINE_RUNS, body)
    assert [cause.field for cause in caught.value.causes] == ["spec.pipelineRef.name"]


async def test_status_is_patched_through_the_subresource(kube: KubeClient) -> None:
    await kube.create(PIPELINE_RUNS, pipeline_run("wfe-a"))
    condition = {"type": "Succeeded", "status": "Unknown", "reason": "Running"}
    patched = await kube.patch(
        PIPELINE_RUNS, "wfe-a", {"status": {"conditions": [condition]}}, subresource="status"
    )
    assert patched["status"]["conditions"] == [condition]
    test_and_set = [{"op": "test", "path": "/status/conditions/0/status", "value": "True"}]
    with pytest.raises(Invalid):
        await kube.patch(
            PIPELINE_RUNS, "wfe-a", test_and_set, subresource="status", patch_type="json"
        )


async def test_delete_preconditions_protect_a_replaced_object(kube: KubeClient) -> None:
    created = await kube.create(PIPELINE_RUNS, pipeline_run("wfe-a"))
    uid = created["metadata"]["uid"]
    with pytest.raises(Conflict) as caught:
        await kube.delete(PIPELINE_RUNS, "wfe-a", uid="someone-elses-uid")
    assert not isinstance(caught.value, AlreadyExists)
    assert await kube.get(PIPELINE_RUNS, "wfe-a") is not None
    with pytest.raises(Conflict):
        await kube.delete(PIPELINE_RUNS, "wfe-a", uid=uid, resource_version="1")
    await kube.delete(
        PIPELINE_RUNS, "wfe-a", uid=uid, resource_version=created["metadata"]["resourceVersion"]
    )
    assert await kube.get(PIPELINE_RUNS, "wfe-a") is None


async def test_injected_server_errors_are_retried(
    kube: KubeClient, emulator: ApiEmulator, sleeps: Sleeps
) -> None:
    await kube.create(PIPELINE_RUNS, pipeline_run("wfe-a"))
    emulator.faults.add(action="error", status=500, count=2, verb="get", name="wfe-a")
    assert await kube.get(PIPELINE_RUNS, "wfe-a") is not None
    assert requests_to(emulator, "get", "wfe-a") == 3
    assert sleeps.delays == [0.1, 0.2]


async def test_injected_429_waits_as_told(
    kube: KubeClient, emulator: ApiEmulator, sleeps: Sleeps
) -> None:
    emulator.faults.add(action="error", status=429, count=1, verb="get", name="wfe-a")
    assert await kube.get(PIPELINE_RUNS, "wfe-a") is None
    assert sleeps.delays == [1.0]  # the Status' retryAfterSeconds beats the 0.1 s backoff


async def test_retries_end_when_the_faults_do_not(
    kube: KubeClient, emulator: ApiEmulator, sleeps: Sleeps
) -> None:
    emulator.faults.add(action="error", status=503, count=50, verb="create")
    with pytest.raises(Transient) as caught:
        await kube.create(PIPELINE_RUNS, pipeline_run("wfe-a"))
    assert caught.value.status == 503
    assert len(sleeps.delays) == POLICY.max_attempts - 1


async def test_events_leases_and_the_crd(kube: KubeClient) -> None:
    run = await kube.create(PIPELINE_RUNS, pipeline_run("wfe-a"))
    event = await kube.create_event(
        run, type=EventType.NORMAL, reason=EventReason.PIPELINE_RUN_CREATED, message="created"
    )
    assert event is not None
    events = await kube.list(EVENTS, NAMESPACE, field_selector="involvedObject.name=wfe-a")
    assert [item["reason"] for item in events] == [EventReason.PIPELINE_RUN_CREATED]
    lease = {"metadata": {"name": "lead"}, "spec": {"holderIdentity": "pod-0"}}
    created = await kube.create(LEASES, lease)
    created["spec"]["holderIdentity"] = "pod-1"
    replaced = await kube.replace(LEASES, created)
    assert replaced["spec"]["holderIdentity"] == "pod-1"
    with pytest.raises(Conflict):
        await kube.replace(LEASES, created)  # its resourceVersion is stale now
    crd = await kube.get(CUSTOM_RESOURCE_DEFINITIONS, CRD_NAME)
    assert crd is not None
    assert crd["spec"]["names"]["kind"] == "WorkflowExecution"
