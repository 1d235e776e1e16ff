"""The node stand-in on the real API server, with the real Job controller running its Jobs.

No WorkflowExecution controller is involved: each test creates a Job shaped as the controller
builds it (`node_simulator.samples.workflow_job`) and waits for what the Job controller concludes
from what the stand-in, playing the kubelet, writes on the Job's pods (`job-engine.md` §9).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

import httpx
import pytest

from kubernaut_wfe_tools.node_simulator import NodeIdentity, NodeSimulator, Pacing
from kubernaut_wfe_tools.node_simulator.samples import workflow_job
from kubernaut_wfe_tools.testing.stack import EXECUTION_NAMESPACE
from kubernaut_wfe_tools.testing.testcluster import TestCluster

pytestmark = pytest.mark.timeout(240)

NS = EXECUTION_NAMESPACE
NODE = "kubelet-standin"
WAIT = 120.0
"""How long a test waits for a state (generous: the machine is shared)."""
PACING = Pacing(
    sandbox=timedelta(0),
    image_pull=timedelta(seconds=1),
    pull_back_off=timedelta(seconds=1),
    event_repeat=timedelta(seconds=1),
)
"""The kubelet's steps without waiting for its sandbox, and a stuck pod's warnings every second."""
LONG_DEADLINE = 300
"""`activeDeadlineSeconds` of a Job that must stay active while it is looked at; the test then
shortens it, and the Job controller fails the Job at its deadline."""

CreateJob = Callable[..., Awaitable[str]]


def job_name() -> str:
    """A name of the controller's shape (`wfe-<16 hex>`), its own to each Job."""
    return f"wfe-{secrets.token_hex(8)}"


def jobs_path(namespace: str = NS) -> str:
    return f"/apis/batch/v1/namespaces/{namespace}/jobs"


def pods_path(namespace: str = NS) -> str:
    return f"/api/v1/namespaces/{namespace}/pods"


def events_path(namespace: str = NS) -> str:
    return f"/api/v1/namespaces/{namespace}/events"


async def eventually(probe: Callable[[], Awaitable[Any]], what: str) -> Any:
    """Poll `probe` until it returns something truthy; fail naming `what` after `WAIT`.

    The state waited for lives in the API server, written by other processes: polling the API
    is the only signal a black-box test has.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not (result := await probe()):
        if loop.time() > deadline:
            raise AssertionError(f"not {what} after {WAIT:.0f} s")
        await asyncio.sleep(0.2)
    return result


@contextlib.asynccontextmanager
async def standin(cluster: TestCluster, **options: Any) -> AsyncIterator[NodeSimulator]:
    """The stand-in for the execution namespace, on the cluster's admin credentials."""
    options.setdefault("pacing", PACING)
    async with NodeSimulator(cluster.url, namespaces=[NS], tls=cluster.tls(), **options) as node:
        yield node


@pytest.fixture
async def api(cluster: TestCluster) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=cluster.url, verify=cluster.tls(), timeout=30) as client:
        yield client


@pytest.fixture
async def node(cluster: TestCluster) -> AsyncIterator[NodeSimulator]:
    async with standin(cluster) as started:
        yield started


@pytest.fixture
async def create_job(api: httpx.AsyncClient) -> AsyncIterator[CreateJob]:
    """`await create_job(name=None, env=…, **workflow_job options)`: a Job in the execution
    namespace, of its own name unless given; the Jobs and their pods are removed afterwards,
    whoever runs them."""
    created: list[str] = []

    async def create(name: str | None = None, **options: Any) -> str:
        name = name or job_name()
        answer = await api.post(jobs_path(), json=workflow_job(name, wfe=name, **options))
        answer.raise_for_status()
        created.append(name)
        return name

    yield create
    for name in created:
        await remove_job(api, name)


async def remove_job(api: httpx.AsyncClient, name: str, namespace: str = NS) -> None:
    """Delete the Job and, without waiting for a kubelet or the garbage collector, its pods."""
    await api.request(
        "DELETE", f"{jobs_path(namespace)}/{name}", json={"propagationPolicy": "Background"}
    )
    for pod in await job_pods(api, name, namespace):
        path = f"{pods_path(namespace)}/{pod['metadata']['name']}"
        await api.patch(
            path,
            json={"metadata": {"finalizers": None}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        await api.request("DELETE", path, json={"gracePeriodSeconds": 0})

    async def gone() -> bool:
        job = await api.get(f"{jobs_path(namespace)}/{name}")
        return job.status_code == 404 and not await job_pods(api, name, namespace)

    await eventually(gone, f"Job {name} and its pods removed")


async def job_pods(api: httpx.AsyncClient, job: str, namespace: str = NS) -> list[dict[str, Any]]:
    """The Job's pods, oldest first."""
    answer = await api.get(
        pods_path(namespace), params={"labelSelector": f"batch.kubernetes.io/job-name={job}"}
    )
    answer.raise_for_status()
    items: list[dict[str, Any]] = answer.json()["items"]
    return sorted(items, key=lambda p: (p["metadata"]["creationTimestamp"], p["metadata"]["name"]))


async def get_job(api: httpx.AsyncClient, name: str) -> dict[str, Any]:
    answer = await api.get(f"{jobs_path()}/{name}")
    answer.raise_for_status()
    job: dict[str, Any] = answer.json()
    return job


def conditions(obj: Mapping[str, Any]) -> list[tuple[str, str, str | None]]:
    return [
        (c["type"], c["status"], c.get("reason"))
        for c in (obj.get("status") or {}).get("conditions") or []
    ]


async def finished_job(api: httpx.AsyncClient, name: str) -> dict[str, Any]:
    """The Job once the Job controller set `Complete` or `Failed`."""

    async def finished() -> dict[str, Any] | None:
        job = await get_job(api, name)
        done = any(kind in {"Complete", "Failed"} for kind, _, _ in conditions(job))
        return job if done else None

    job: dict[str, Any] = await eventually(finished, f"Job {name} finished")
    return job


async def events_about(
    api: httpx.AsyncClient, kind: str, name: str, namespace: str = NS
) -> list[dict[str, Any]]:
    selector = f"involvedObject.kind={kind},involvedObject.name={name}"
    answer = await api.get(events_path(namespace), params={"fieldSelector": selector})
    answer.raise_for_status()
    items: list[dict[str, Any]] = answer.json()["items"]
    return sorted(items, key=lambda e: (e["firstTimestamp"], e["metadata"]["name"]))


def reasons(events: list[dict[str, Any]]) -> list[str]:
    return [event["reason"] for event in events]


async def shorten_deadline(api: httpx.AsyncClient, name: str) -> None:
    """Move the Job's `activeDeadlineSeconds` to 1 s: the Job controller ends it at once."""
    answer = await api.patch(
        f"{jobs_path()}/{name}",
        json={"spec": {"activeDeadlineSeconds": 1}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    answer.raise_for_status()


def container(pod: Mapping[str, Any]) -> dict[str, Any]:
    """The workflow container's status ({} before the kubelet wrote one)."""
    statuses = (pod.get("status") or {}).get("containerStatuses") or [{}]
    status: dict[str, Any] = statuses[0]
    return status


class PodHistory:
    """Every version of a Job's pods, as watched from before the Job exists: what a pod went
    through even after it is gone."""

    def __init__(self, api: httpx.AsyncClient, job: str) -> None:
        self._api = api
        self._selector = f"batch.kubernetes.io/job-name={job}"
        self.versions: list[dict[str, Any]] = []
        self.deleted: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> PodHistory:
        listing = await self._api.get(pods_path(), params={"labelSelector": self._selector})
        version = listing.json()["metadata"]["resourceVersion"]
        self._task = asyncio.create_task(self._watch(version))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _watch(self, version: str) -> None:
        params = {"watch": "true", "labelSelector": self._selector, "resourceVersion": version}
        async with self._api.stream("GET", pods_path(), params=params, timeout=None) as stream:
            async for line in stream.aiter_lines():
                if line.strip():
                    event = json.loads(line)
                    self.versions.append(event["object"])
                    if event["type"] == "DELETED":
                        self.deleted.add(event["object"]["metadata"]["name"])

    def states(self) -> list[dict[str, Any]]:
        """The workflow container's successive states (repeats collapsed)."""
        seen: list[dict[str, Any]] = []
        for pod in self.versions:
            statuses = (pod.get("status") or {}).get("containerStatuses") or []
            if statuses and (not seen or seen[-1] != statuses[0]["state"]):
                seen.append(statuses[0]["state"])
        return seen

    async def pod_deleted(self) -> bool:
        return bool(self.deleted)

    def phases(self) -> list[str]:
        seen: list[str] = []
        for pod in self.versions:
            phase = (pod.get("status") or {}).get("phase")
            if phase and (not seen or seen[-1] != phase):
                seen.append(phase)
        return seen


# --- the node ------------------------------------------------------------------------------


async def test_the_node_is_registered_ready_and_its_lease_renewed(
    cluster: TestCluster, api: httpx.AsyncClient
) -> None:
    async with standin(cluster, lease_renewal=timedelta(seconds=1)):
        node = (await api.get(f"/api/v1/nodes/{NODE}")).json()
        ready = {c["type"]: (c["status"], c["reason"]) for c in node["status"]["conditions"]}
        assert ready["Ready"] == ("True", "KubeletReady")
        assert ready["MemoryPressure"] == ("False", "KubeletHasSufficientMemory")
        assert node["status"]["capacity"]["pods"] == "110"
        assert node["status"]["allocatable"]["cpu"] == "2"
        version = (await api.get("/version")).json()["gitVersion"]
        assert node["status"]["nodeInfo"]["kubeletVersion"] == version
        lease_path = f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{NODE}"
        lease = (await api.get(lease_path)).json()
        assert lease["spec"]["holderIdentity"] == NODE
        assert lease["spec"]["leaseDurationSeconds"] == 40
        assert lease["metadata"]["ownerReferences"][0]["uid"] == node["metadata"]["uid"]
        first = lease["spec"]["renewTime"]

        async def renewed() -> bool:
            return bool((await api.get(lease_path)).json()["spec"]["renewTime"] > first)

        await eventually(renewed, "Lease renewed")
    assert (await api.get(f"/api/v1/nodes/{NODE}")).status_code == 200  # left in place


async def test_the_node_is_removed_on_exit_when_asked(
    cluster: TestCluster, api: httpx.AsyncClient
) -> None:
    name = "kubelet-standin-leaving"
    async with standin(cluster, node=NodeIdentity(name=name), remove_node_on_exit=True):
        assert (await api.get(f"/api/v1/nodes/{name}")).status_code == 200
    assert (await api.get(f"/api/v1/nodes/{name}")).status_code == 404
    lease = f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{name}"
    assert (await api.get(lease)).status_code == 404


# --- outcomes ------------------------------------------------------------------------------


async def test_success_completes_the_job(
    api: httpx.AsyncClient, node: NodeSimulator, create_job: CreateJob
) -> None:
    for kind, path, data in (
        ("secret", "secrets", {"type": "Opaque", "stringData": {"password": "x"}}),
        ("configmap", "configmaps", {"data": {"k": "v"}}),
    ):
        body = {"metadata": {"name": f"present-{kind}"}, **data}
        answer = await api.post(f"/api/v1/namespaces/{NS}/{path}", json=body)
        assert answer.status_code in {201, 409}
    name = await create_job(
        env={"DELAY_SECONDS": "1"}, secrets=["present-secret"], config_maps=["present-configmap"]
    )
    job = await finished_job(api, name)
    assert conditions(job) == [
        ("SuccessCriteriaMet", "True", "CompletionsReached"),
        ("Complete", "True", "CompletionsReached"),
    ]
    assert (job["status"]["succeeded"], job["status"].get("failed", 0)) == (1, 0)
    assert job["status"]["completionTime"]
    (pod,) = await job_pods(api, name)
    assert pod["spec"]["nodeName"] == node.node.name
    assert pod["status"]["phase"] == "Succeeded"
    assert pod["status"]["hostIP"] == "127.0.0.1"
    assert pod["status"]["podIP"].startswith("10.244.0.")
    assert pod["status"]["qosClass"] == "BestEffort"
    assert conditions(pod) == [
        ("PodReadyToStartContainers", "False", None),
        ("Initialized", "True", "PodCompleted"),
        ("Ready", "False", "PodCompleted"),
        ("ContainersReady", "False", "PodCompleted"),
        ("PodScheduled", "True", None),
    ]
    workflow = container(pod)
    assert workflow["name"] == "workflow"
    assert workflow["state"]["terminated"]["exitCode"] == 0
    assert workflow["state"]["terminated"]["reason"] == "Completed"
    assert workflow["containerID"].startswith("containerd://")
    assert workflow["imageID"].startswith("quay.io/kubernaut-test/workflow@sha256:")
    kubelet = await events_about(api, "Pod", pod["metadata"]["name"])
    assert reasons(kubelet) == ["Pulling", "Pulled", "Created", "Started"]
    for event in kubelet:
        assert event["source"] == {"component": "kubelet", "host": NODE}
        assert (event["reportingComponent"], event["reportingInstance"]) == ("kubelet", NODE)
        assert event["involvedObject"]["fieldPath"] == "spec.containers{workflow}"
    assert reasons(await events_about(api, "Job", name)) == ["SuccessfulCreate", "Completed"]


@pytest.mark.parametrize("case", [("exit", 1, "Error"), ("oom", 137, "OOMKilled")], ids=str)
async def test_a_failed_container_fails_the_job_at_once(
    case: tuple[str, int, str],
    api: httpx.AsyncClient,
    node: NodeSimulator,
    create_job: CreateJob,
) -> None:
    mode, exit_code, reason = case
    name = await create_job(env={"FAILURE_MODE": mode, "DELAY_SECONDS": "1"})
    job = await finished_job(api, name)
    assert conditions(job) == [
        ("FailureTarget", "True", "BackoffLimitExceeded"),
        ("Failed", "True", "BackoffLimitExceeded"),
    ]
    assert job["status"]["failed"] == 1
    assert "completionTime" not in job["status"]
    (pod,) = await job_pods(api, name)  # no retry: the OOM-killed pod is not replaced
    assert pod["status"]["phase"] == "Failed"
    terminated = container(pod)["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (exit_code, reason)
    job_events = await events_about(api, "Job", name)
    assert reasons(job_events) == ["SuccessfulCreate", "BackoffLimitExceeded"]
    assert job_events[1]["message"] == "Job has reached the specified backoff limit"


async def test_a_disrupted_pod_is_replaced_and_the_job_completes(
    api: httpx.AsyncClient, node: NodeSimulator, create_job: CreateJob
) -> None:
    name = await create_job(env={"FAILURE_MODE": "disruption", "DELAY_SECONDS": "0"})
    job = await finished_job(api, name)
    assert ("Complete", "True", "CompletionsReached") in conditions(job)
    assert job["status"]["succeeded"] == 1
    assert job["status"].get("failed", 0) == 0  # ignored by the pod failure policy
    job_events = await events_about(api, "Job", name)
    assert reasons(job_events).count("SuccessfulCreate") == 2
    first, second = await job_pods(api, name)
    disruption = first["status"]["conditions"][0]
    assert (disruption["type"], disruption["status"], disruption["reason"]) == (
        "DisruptionTarget",
        "True",
        "TerminationByKubelet",
    )
    assert disruption["message"].startswith("The node was low on resource: memory.")
    assert (first["status"]["phase"], first["status"]["reason"]) == ("Failed", "Evicted")
    terminated = container(first)["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (137, "Error")
    assert reasons(await events_about(api, "Pod", first["metadata"]["name"]))[-2:] == [
        "Evicted",
        "Killing",
    ]
    assert second["status"]["phase"] == "Succeeded"
    assert "DisruptionTarget" not in {kind for kind, _, _ in conditions(second)}


async def test_the_deadline_stops_a_running_workflow(
    cluster: TestCluster, api: httpx.AsyncClient, create_job: CreateJob
) -> None:
    # Without pacing the container runs as soon as the pod is bound, well before the deadline.
    async with standin(cluster, pacing=Pacing(sandbox=timedelta(0), image_pull=timedelta(0))):
        name = job_name()
        async with PodHistory(api, name) as history:
            await create_job(name, env={"FAILURE_MODE": "timeout"}, active_deadline_seconds=3)
            job = await finished_job(api, name)
            await eventually(history.pod_deleted, "the pod deleted")
    assert conditions(job) == [
        ("FailureTarget", "True", "DeadlineExceeded"),
        ("Failed", "True", "DeadlineExceeded"),
    ]
    assert job["status"]["failed"] == 1
    states = history.states()
    assert "running" in states[-2]
    terminated = states[-1]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (143, "Error")
    assert history.phases()[-1] == "Failed"
    assert reasons(await events_about(api, "Job", name)) == [
        "SuccessfulCreate",
        "SuccessfulDelete",
        "DeadlineExceeded",
    ]
    (pod,) = history.deleted
    assert reasons(await events_about(api, "Pod", pod))[-1] == "Killing"


ExpectedEvents = Callable[[Mapping[str, Any]], list[tuple[str, str | None]]]
"""The pod's first kubelet Events, (reason, message or None for any), from the pod."""


async def stuck_until_the_deadline(
    api: httpx.AsyncClient,
    create_job: CreateJob,
    *,
    waiting: str,
    events: ExpectedEvents,
    repeated: str,
    **job_options: Any,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run a Job whose pod gets stuck. Check that the pod waits with reason `waiting`, that the
    kubelet posted `events(pod)` ((reason, message), in order) and counted `repeated` again,
    that the Job stays active without a condition; then end the Job by its deadline and check
    how the pod ended. Returns the pod's waiting state and its Events.

    The Job's deadline is long while the pod is looked at, then shortened: racing a short one
    would make the test depend on the machine's speed."""
    name = job_name()
    async with PodHistory(api, name) as history:
        await create_job(name, active_deadline_seconds=LONG_DEADLINE, **job_options)

        async def stuck() -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
            pods = await job_pods(api, name)
            state = container(pods[0]).get("state", {}) if pods else {}
            if state.get("waiting", {}).get("reason") != waiting:
                return None
            posted = await events_about(api, "Pod", pods[0]["metadata"]["name"])
            counted = any(e["reason"] == repeated and e["count"] > 1 for e in posted)
            return (pods[0], posted) if counted else None

        pod, posted = await eventually(stuck, f"the pod waiting {waiting}, {repeated} repeated")
        job = await get_job(api, name)
        assert (job["status"]["active"], conditions(job)) == (1, [])
        assert pod["status"]["phase"] == "Pending"
        expected = events(pod)
        assert [e["reason"] for e in posted[: len(expected)]] == [r for r, _ in expected]
        for event, (_, message) in zip(posted, expected, strict=False):
            assert message is None or event["message"] == message
        for event in posted:
            assert event["source"] == {"component": "kubelet", "host": NODE}
        await shorten_deadline(api, name)
        ended = await finished_job(api, name)
        await eventually(history.pod_deleted, "the pod deleted")
    assert ("Failed", "True", "DeadlineExceeded") in conditions(ended)
    terminated = history.states()[-1]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (137, "ContainerStatusUnknown")
    assert terminated["message"] == (
        "The container could not be located when the pod was terminated"
    )
    return container(pod)["state"]["waiting"], posted


IMAGE = "quay.io/kubernaut-test/workflow:v1.0.0"


async def test_an_image_that_cannot_be_pulled(
    api: httpx.AsyncClient, node: NodeSimulator, create_job: CreateJob
) -> None:
    error = (
        f'rpc error: code = NotFound desc = failed to pull and unpack image "{IMAGE}": '
        f'failed to resolve reference "{IMAGE}": {IMAGE}: not found'
    )
    waiting, posted = await stuck_until_the_deadline(
        api,
        create_job,
        env={"FAILURE_MODE": "imagepull"},
        waiting="ImagePullBackOff",
        events=lambda _: [
            ("Pulling", f'Pulling image "{IMAGE}"'),
            ("Failed", f'Failed to pull image "{IMAGE}": {error}'),
            ("Failed", "Error: ErrImagePull"),
            ("BackOff", f'Back-off pulling image "{IMAGE}"'),
            ("Failed", "Error: ImagePullBackOff"),
        ],
        repeated="BackOff",
    )
    assert waiting["message"] == f'Back-off pulling image "{IMAGE}": ErrImagePull: {error}'
    assert [e["type"] for e in posted] == ["Normal", "Warning", "Warning", "Normal", "Warning"]


@pytest.mark.parametrize(
    "kind",
    [("secrets", "secret", "secret"), ("config_maps", "configmap", "configmap")],
    ids=lambda kind: kind[0],
)
async def test_a_missing_dependency_keeps_the_pod_pending(
    kind: tuple[str, str, str],
    api: httpx.AsyncClient,
    node: NodeSimulator,
    create_job: CreateJob,
) -> None:
    option, prefix, written = kind
    absent = f"absent-{secrets.token_hex(4)}"
    message = (
        f'MountVolume.SetUp failed for volume "{prefix}-{absent}" : {written} "{absent}" not found'
    )
    waiting, posted = await stuck_until_the_deadline(
        api,
        create_job,
        waiting="ContainerCreating",
        events=lambda _: [("FailedMount", message)],
        repeated="FailedMount",
        **{option: [absent]},
    )
    assert waiting == {"reason": "ContainerCreating"}
    assert posted[0]["type"] == "Warning"
    assert "fieldPath" not in posted[0]["involvedObject"]


async def test_a_container_that_must_not_run_as_root(
    api: httpx.AsyncClient, node: NodeSimulator, create_job: CreateJob
) -> None:
    def refusal(pod: Mapping[str, Any]) -> str:
        meta = pod["metadata"]
        return (
            "container has runAsNonRoot and image will run as root "
            f'(pod: "{meta["name"]}_{NS}({meta["uid"]})", container: workflow)'
        )

    pods: list[Mapping[str, Any]] = []

    def events(pod: Mapping[str, Any]) -> list[tuple[str, str | None]]:
        pods.append(pod)
        return [
            ("Pulling", f'Pulling image "{IMAGE}"'),
            ("Pulled", None),
            ("Failed", f"Error: {refusal(pod)}"),
        ]

    waiting, _ = await stuck_until_the_deadline(
        api,
        create_job,
        env={"FAILURE_MODE": "config"},
        waiting="CreateContainerConfigError",
        events=events,
        repeated="Failed",
    )
    assert waiting == {"reason": "CreateContainerConfigError", "message": refusal(pods[0])}


async def test_a_quota_refuses_the_pod_and_the_job_controller_says_so(
    api: httpx.AsyncClient,
) -> None:
    namespace = f"node-quota-{secrets.token_hex(4)}"
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
    (await api.post("/api/v1/namespaces", json=body)).raise_for_status()
    try:
        quota = {"metadata": {"name": "no-pods"}, "spec": {"hard": {"pods": "0"}}}
        quotas = f"/api/v1/namespaces/{namespace}/resourcequotas"
        (await api.post(quotas, json=quota)).raise_for_status()

        async def counted() -> bool:
            # Quota admission refuses everything a quota counts until its usage is computed,
            # and a pod needs its namespace's default ServiceAccount.
            status = (await api.get(f"{quotas}/no-pods")).json().get("status") or {}
            account = await api.get(f"/api/v1/namespaces/{namespace}/serviceaccounts/default")
            return status.get("hard") == {"pods": "0"} and account.status_code == 200

        await eventually(counted, "the quota computed")
        name = job_name()
        job = workflow_job(name, wfe=name, namespace=namespace)
        (await api.post(jobs_path(namespace), json=job)).raise_for_status()

        async def refused() -> dict[str, Any] | None:
            found = await events_about(api, "Job", name, namespace)
            return next((e for e in found if e["reason"] == "FailedCreate"), None)

        event = await eventually(refused, "FailedCreate posted")
        assert event["type"] == "Warning"
        assert "exceeded quota: no-pods" in event["message"]
        assert event["source"]["component"] == "job-controller"
        assert await job_pods(api, name, namespace) == []
    finally:
        await api.delete(f"/api/v1/namespaces/{namespace}")


async def test_a_restarted_standin_resumes_its_pods(
    cluster: TestCluster, api: httpx.AsyncClient, create_job: CreateJob
) -> None:
    async with standin(cluster):
        name = await create_job(env={"DELAY_SECONDS": "4"})

        async def running() -> dict[str, Any] | None:
            pods = await job_pods(api, name)
            return pods[0] if pods and "running" in container(pods[0]).get("state", {}) else None

        before = await eventually(running, "the workflow running")
    async with standin(cluster):
        job = await finished_job(api, name)
    assert ("Complete", "True", "CompletionsReached") in conditions(job)
    (after,) = await job_pods(api, name)
    assert after["status"]["startTime"] == before["status"]["startTime"]
    assert container(after)["containerID"] == container(before)["containerID"]
    assert (
        container(after)["state"]["terminated"]["startedAt"]
        == (container(before)["state"]["running"]["startedAt"])
    )
    kubelet = await events_about(api, "Pod", after["metadata"]["name"])
    assert reasons(kubelet) == ["Pulling", "Pulled", "Created", "Started"]
    assert {event["count"] for event in kubelet} == {1}
