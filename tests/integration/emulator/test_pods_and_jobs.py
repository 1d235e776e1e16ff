"""What the node stand-in and its Job controller rely on, on the emulator and the real API server
alike: a Job and a Pod defaulted on create (selector, template labels, pod status and QoS
class), `pods/binding`, `pods/status` guarded by the pod's uid, the graceful deletion of a pod a
node runs (it stays until its kubelet deletes it with grace period 0), and a Node created with
its status. Nothing plays a node here, so the real Job controller's pods stay unbound."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from .fidelity import JSON_PATCH, MERGE, Api, unique  # noqa: TID252

pytestmark = pytest.mark.timeout(120)

STRATEGIC = {"Content-Type": "application/strategic-merge-patch+json"}
NODE = "fidelity-node"


def pods(api: Api) -> str:
    return f"/api/v1/namespaces/{api.namespace}/pods"


def jobs(api: Api) -> str:
    return f"/apis/batch/v1/namespaces/{api.namespace}/jobs"


def pod_body(name: str, image: str = "quay.io/kubernaut-test/workflow:v1", **spec: Any) -> Any:
    container = {"name": "workflow", "image": image}
    return {
        "metadata": {"name": name},
        "spec": {"restartPolicy": "Never", "containers": [container], **spec},
    }


def binding(name: str, node: str = NODE, **metadata: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": name, **metadata},
        "target": {"apiVersion": "v1", "kind": "Node", "name": node},
    }


@contextlib.asynccontextmanager
async def pods_of_the_test(api: Api) -> AsyncIterator[None]:
    """The test's namespace ready for pods (its default ServiceAccount, which the real server's
    admission wants); at the end its pods are released and removed, so that the real server's
    namespace deletion does not wait for a kubelet that never comes."""
    account = await api.client.post(
        f"/api/v1/namespaces/{api.namespace}/serviceaccounts",
        json={"metadata": {"name": "default"}},
    )
    assert account.status_code in {201, 409}, account.text
    try:
        yield
    finally:
        listing = await api.client.get(pods(api))
        for item in listing.json().get("items") or []:
            path = f"{pods(api)}/{item['metadata']['name']}"
            await api.client.patch(path, json={"metadata": {"finalizers": None}}, headers=MERGE)
            await api.client.request("DELETE", path, json={"gracePeriodSeconds": 0})


async def create_pod(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    """Create the pod, retried while the real server's admission does not see the namespace's
    new ServiceAccount yet."""

    async def created() -> dict[str, Any] | None:
        answer = await api.client.post(pods(api), json=body)
        if answer.status_code == 403 and "service account" in answer.text:
            return None
        assert answer.status_code == 201, answer.text
        pod: dict[str, Any] = answer.json()
        return pod

    pod: dict[str, Any] = await api.eventually(created, "the pod admitted")
    return pod


async def test_a_created_job_is_defaulted_to_select_its_own_pods(api: Api) -> None:
    labels = {"kubernaut.ai/workflow-execution": "wfe-1"}
    template = {"metadata": {"labels": labels}, "spec": pod_body("ignored")["spec"]}
    template["spec"]["volumes"] = [{"name": "secret-creds", "secret": {"secretName": "creds"}}]
    body = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "wfe-0123456789abcdef", "labels": labels},
        "spec": {
            "backoffLimit": 0,
            "podFailurePolicy": {
                "rules": [{"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]
            },
            "template": template,
        },
    }
    answer = await api.client.post(jobs(api), json=body, params={"dryRun": "All"})
    assert answer.status_code == 201, answer.text
    job = answer.json()
    uid, spec = job["metadata"]["uid"], job["spec"]
    assert job["metadata"]["generation"] == 1
    assert job["status"] == {}
    assert {key: spec[key] for key in spec if key not in ("template", "podFailurePolicy")} == {
        "parallelism": 1,
        "completions": 1,
        "backoffLimit": 0,
        "completionMode": "NonIndexed",
        "suspend": False,
        "podReplacementPolicy": "Failed",
        "manualSelector": False,
        "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}},
    }
    assert spec["podFailurePolicy"]["rules"][0]["onPodConditions"] == [
        {"type": "DisruptionTarget", "status": "True"}
    ]
    assert spec["template"]["metadata"]["labels"] == {
        **labels,
        "batch.kubernetes.io/controller-uid": uid,
        "batch.kubernetes.io/job-name": "wfe-0123456789abcdef",
        "controller-uid": uid,
        "job-name": "wfe-0123456789abcdef",
    }
    pod_spec = spec["template"]["spec"]
    assert {key: pod_spec[key] for key in pod_spec if key not in ("containers", "volumes")} == {
        "restartPolicy": "Never",
        "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst",
        "securityContext": {},
        "schedulerName": "default-scheduler",
    }
    assert pod_spec["volumes"][0]["secret"] == {"secretName": "creds", "defaultMode": 420}
    assert pod_spec["containers"][0] == {
        "name": "workflow",
        "image": "quay.io/kubernaut-test/workflow:v1",
        "imagePullPolicy": "IfNotPresent",
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "resources": {},
    }


async def test_a_jobs_generation_counts_its_spec_changes(api: Api) -> None:
    template = {"spec": pod_body("ignored")["spec"]}
    body = {"metadata": {"name": "suspended"}, "spec": {"suspend": True, "template": template}}
    job = await api.create(jobs(api), body)
    assert job["metadata"]["generation"] == 1
    path = f"{jobs(api)}/suspended"
    status = {"status": {"active": 0}}
    await api.client.patch(f"{path}/status", json=status, headers=MERGE)
    assert (await api.client.get(path)).json()["metadata"]["generation"] == 1
    await api.client.patch(path, json={"spec": {"activeDeadlineSeconds": 60}}, headers=MERGE)
    assert (await api.client.get(path)).json()["metadata"]["generation"] == 2


@pytest.mark.parametrize(
    ("image", "resources", "pull", "qos"),
    [
        ("busybox", {}, "Always", "BestEffort"),
        ("quay.io/x/workflow@sha256:" + "a" * 64, {}, "IfNotPresent", "BestEffort"),
        ("busybox:latest", {"requests": {"cpu": "10m"}}, "Always", "Burstable"),
        (
            "busybox:1.36",
            {"limits": {"cpu": "10m", "memory": "16Mi"}},
            "IfNotPresent",
            "Guaranteed",
        ),
    ],
    ids=["no-tag", "digest", "burstable", "guaranteed"],
)
async def test_a_created_pod_is_pending_with_its_qos_class_and_defaults(
    api: Api, image: str, resources: dict[str, Any], pull: str, qos: str
) -> None:
    async with pods_of_the_test(api):
        body = pod_body("p", image)
        if resources:
            body["spec"]["containers"][0]["resources"] = resources
        pod = await create_pod(api, body)
    assert pod["metadata"]["generation"] == 1
    assert pod["status"] == {"phase": "Pending", "qosClass": qos}
    spec = pod["spec"]
    container = spec["containers"][0]
    assert container["imagePullPolicy"] == pull
    assert container["terminationMessagePath"] == "/dev/termination-log"
    if "limits" in resources:
        assert container["resources"]["requests"] == resources["limits"]
    assert (spec["serviceAccountName"], spec["serviceAccount"]) == ("default", "default")
    assert (spec["priority"], spec["enableServiceLinks"]) == (0, True)
    assert (spec["terminationGracePeriodSeconds"], spec["schedulerName"]) == (
        30,
        "default-scheduler",
    )


async def test_discovery_lists_the_binding_subresource(api: Api) -> None:
    listing = (await api.client.get("/api/v1")).json()["resources"]
    (entry,) = [item for item in listing if item["name"] == "pods/binding"]
    assert entry == {
        "name": "pods/binding",
        "singularName": "",
        "namespaced": True,
        "kind": "Binding",
        "verbs": ["create"],
    }


async def test_binding_assigns_the_pod_to_its_node_once(api: Api) -> None:
    async with pods_of_the_test(api):
        created = await create_pod(api, pod_body("p"))
        path = f"{pods(api)}/p/binding"
        answer = await api.client.post(path, json=binding("p", uid=created["metadata"]["uid"]))
        assert (answer.status_code, answer.json()) == (
            201,
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "code": 201,
            },
        )
        pod = (await api.client.get(f"{pods(api)}/p")).json()
        assert pod["spec"]["nodeName"] == NODE
        (scheduled,) = pod["status"]["conditions"]
        assert (scheduled["type"], scheduled["status"], scheduled["lastProbeTime"]) == (
            "PodScheduled",
            "True",
            None,
        )
        assert scheduled["lastTransitionTime"]
        assert pod["status"]["phase"] == "Pending"

        again = await api.client.post(path, json=binding("p", node="another-node"))
        assert (again.status_code, again.json()["reason"]) == (409, "Conflict")
        assert again.json()["message"] == (
            'Operation cannot be fulfilled on pods/binding "p": pod p is already assigned to '
            f'node "{NODE}"'
        )
        assert again.json()["details"] == {"name": "p", "kind": "pods/binding"}
        other = await api.client.post(path, json=binding("q"))
        assert (other.status_code, other.json()["message"]) == (
            400,
            "name in URL does not match name in Binding object",
        )
        missing = await api.client.post(f"{pods(api)}/absent/binding", json=binding("absent"))
        assert (missing.status_code, missing.json()["message"]) == (404, 'pods "absent" not found')


async def test_a_pod_being_deleted_cannot_be_bound(api: Api) -> None:
    async with pods_of_the_test(api):
        body = pod_body("p")
        body["metadata"]["finalizers"] = ["example.com/hold"]
        await create_pod(api, body)
        await api.client.delete(f"{pods(api)}/p")
        refused = await api.client.post(f"{pods(api)}/p/binding", json=binding("p"))
    assert (refused.status_code, refused.json()["message"]) == (
        409,
        'Operation cannot be fulfilled on pods/binding "p": pod p is being deleted, cannot be '
        "assigned to a host",
    )


async def test_a_status_patch_carrying_another_uid_is_refused_as_immutable(api: Api) -> None:
    async with pods_of_the_test(api):
        await create_pod(api, pod_body("p"))
        patch = {"metadata": {"uid": "00000000-0000-4000-8000-000000000000"}, "status": {}}
        refused = await api.client.patch(f"{pods(api)}/p/status", json=patch, headers=STRATEGIC)
    assert (refused.status_code, refused.json()["message"]) == (
        422,
        'Pod "p" is invalid: metadata.uid: Invalid value: "00000000-0000-4000-8000-000000000000": '
        "field is immutable",
    )
    causes = refused.json()["details"]["causes"]
    assert [cause["field"] for cause in causes] == ["metadata.uid", "metadata.uid"]


async def test_a_bound_pod_is_deleted_gracefully_until_its_kubelet_says_so(api: Api) -> None:
    async with pods_of_the_test(api):
        await create_pod(api, pod_body("p"))
        await api.client.post(f"{pods(api)}/p/binding", json=binding("p"))
        first = await api.client.delete(f"{pods(api)}/p")
        deleting = first.json()
        assert (first.status_code, deleting["kind"]) == (200, "Pod")
        assert deleting["metadata"]["deletionGracePeriodSeconds"] == 30
        assert deleting["metadata"]["generation"] == 2
        assert await api.status_code(f"{pods(api)}/p") == 200
        shorter = await api.client.request(
            "DELETE", f"{pods(api)}/p", json={"gracePeriodSeconds": 10}
        )
        assert shorter.json()["metadata"]["deletionGracePeriodSeconds"] == 10
        longer = await api.client.request(
            "DELETE", f"{pods(api)}/p", json={"gracePeriodSeconds": 20}
        )
        assert longer.json()["metadata"]["deletionGracePeriodSeconds"] == 10
        now = await api.client.request("DELETE", f"{pods(api)}/p", json={"gracePeriodSeconds": 0})
        assert (now.status_code, now.json()["kind"]) == (200, "Pod")
        assert now.json()["metadata"]["deletionGracePeriodSeconds"] == 0
        assert await api.status_code(f"{pods(api)}/p") == 404


async def test_an_unbound_pod_goes_at_once(api: Api) -> None:
    async with pods_of_the_test(api):
        await create_pod(api, pod_body("p"))
        answer = await api.client.delete(f"{pods(api)}/p")
        assert (answer.status_code, answer.json()["kind"]) == (200, "Pod")
        assert answer.json()["metadata"]["deletionGracePeriodSeconds"] == 0
        assert await api.status_code(f"{pods(api)}/p") == 404


async def test_a_finalizer_removed_during_the_grace_period_leaves_the_pod_to_its_kubelet(
    api: Api,
) -> None:
    async with pods_of_the_test(api):
        for name in ("running", "ended"):
            body = pod_body(name)
            body["metadata"]["finalizers"] = ["example.com/hold"]
            await create_pod(api, body)
            await api.client.post(f"{pods(api)}/{name}/binding", json=binding(name))
        ended = {"status": {"phase": "Failed"}}
        await api.client.patch(f"{pods(api)}/ended/status", json=ended, headers=STRATEGIC)
        for name, grace in (("running", 30), ("ended", 0)):
            deleting = (await api.client.delete(f"{pods(api)}/{name}")).json()
            assert deleting["metadata"]["deletionGracePeriodSeconds"] == grace
            released = await api.client.patch(
                f"{pods(api)}/{name}", json={"metadata": {"finalizers": None}}, headers=MERGE
            )
            assert released.status_code == 200, released.text
        assert await api.status_code(f"{pods(api)}/running") == 200
        assert await api.status_code(f"{pods(api)}/ended") == 404
        gone = await api.client.request(
            "DELETE", f"{pods(api)}/running", json={"gracePeriodSeconds": 0}
        )
        assert gone.status_code == 200
        assert await api.status_code(f"{pods(api)}/running") == 404


async def test_a_node_is_created_with_the_status_its_kubelet_reports(api: Api) -> None:
    name = unique("fidelity-node")
    condition = {
        "type": "Ready",
        "status": "True",
        "lastHeartbeatTime": "2026-01-01T00:00:00Z",
        "lastTransitionTime": "2026-01-01T00:00:00Z",
        "reason": "KubeletReady",
        "message": "kubelet is posting ready status",
    }
    status = {"capacity": {"cpu": "2", "pods": "110"}, "conditions": [condition]}
    try:
        created = await api.create("/api/v1/nodes", {"metadata": {"name": name}, "status": status})
        assert created["status"]["capacity"] == status["capacity"]
        assert created["status"]["conditions"] == [condition]
        report = {"status": {"capacity": {"cpu": "4"}}}
        patched = await api.client.patch(
            f"/api/v1/nodes/{name}/status", json=report, headers=STRATEGIC
        )
        assert patched.json()["status"]["capacity"]["cpu"] == "4"
    finally:
        await api.client.delete(f"/api/v1/nodes/{name}")


async def test_empty_metadata_lists_and_maps_are_not_stored(api: Api) -> None:
    # The Job controller takes its tracking finalizer off a pod with a JSON patch: what is left
    # is no `finalizers` at all, not an empty list.
    path = api.path("configmaps")
    body = {"metadata": {"name": "cm", "labels": {}, "finalizers": ["example.com/hold"]}}
    created = await api.create(path, body)
    assert "labels" not in created["metadata"]
    remove = [{"op": "remove", "path": "/metadata/finalizers/0"}]
    released = await api.client.patch(f"{path}/cm", json=remove, headers=JSON_PATCH)
    assert "finalizers" not in released.json()["metadata"]
