"""`helm install` until the controller's own pod is Ready, on the real API server: the chart
rendered and applied, kube-controller-manager turning the Deployment into a pod, the node
stand-in running that pod's container as the pod spec says (arguments, environment, the config
file and ServiceAccount token volumes, in-cluster variables, probes, security context, memory
limit), then the examples through that pod, an upgrade that rolls it, and the documented
uninstall. Each wiring test breaks one thing on purpose and looks for its symptom."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubernaut_wfe_tools.testing.install import (
    METRICS_PORT,
    NAMESPACE,
    Installation,
    chart_values,
)
from kubernaut_wfe_tools.testing.stack import stored_audit_events, wfe_body
from kubernaut_wfe_tools.testing.testcluster.cluster import CRD_DIR, TEKTON_CRD_DIR

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(600)]

REPO_ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = [
    *sorted((REPO_ROOT / "examples").glob("*.yaml")),
    *sorted((REPO_ROOT / "examples" / "catalog").glob("job-*.yaml")),
]
OUTCOME = re.compile(r"^# outcome: phase=(\w+)(?: reason=(\w+))?", re.M)
CONTROLLER_UID = 65532


async def eventually(
    probe: Callable[[], Awaitable[Any]], what: str, within: float, installed: Installation
) -> Any:
    """Poll `probe` until truthy; fail with the pods' report after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        found = await probe()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {within:.0f} s\n{await installed.report()}")
        await asyncio.sleep(0.5)


async def rolled_out(installed: Installation) -> list[dict[str, Any]]:
    ok, printed = await installed.rollout()
    assert ok, f"{printed}\n{await installed.report()}"
    return await installed.pods()


async def ready_pods(installed: Installation) -> list[dict[str, Any]]:
    return [
        pod
        for pod in await installed.pods()
        if any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in (pod.get("status") or {}).get("conditions") or []
        )
    ]


def process_environment(pid: int) -> list[bytes]:
    return Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")


def process_status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines()
    return dict(line.split(":\t", 1) for line in lines if ":\t" in line)


async def wfe_phase(installed: Installation, namespace: str, name: str) -> dict[str, Any]:
    answer = await installed.client.get(
        f"/apis/kubernaut.ai/v1alpha1/namespaces/{namespace}/workflowexecutions/{name}"
    )
    if answer.status_code != 200:
        return {}
    status: dict[str, Any] = answer.json().get("status") or {}
    return status


async def uninstall_and_check_nothing_is_left(installed: Installation, chart_file: Path) -> None:
    await installed.uninstall(chart_file)
    assert await installed.pods() == []
    gone = await installed.kubectl("get", "deployment", "-n", NAMESPACE, "-o", "name")
    assert gone.strip() == ""
    crd = installed.cluster.run_kubectl("get", "crd", "workflowexecutions.kubernaut.ai")
    assert "NotFound" in crd.stderr
    assert await eventually(
        lambda: asyncio.sleep(0, result=not installed.node.service_pods.log_tails()),
        "the stand-in to let go of every controller pod",
        30,
        installed,
    )
    await installed.kubectl("apply", "--server-side", "-f", str(CRD_DIR))
    await installed.kubectl("wait", "--for=condition=Established", "crd", "--all")


async def test_install_runs_the_examples_rolls_on_upgrade_and_uninstalls_without_a_trace(
    installed: Installation, chart_file: Path
) -> None:
    await installed.apply(chart_values(), chart_file)
    (pod,) = await rolled_out(installed)

    # The container as the pod spec says: the image's user, the downward API, the config file.
    pid = installed.node.service_pods.container_pid(pod["metadata"]["name"])
    assert pid is not None
    status = process_status(pid)
    assert status["Uid"].split()[0] == str(CONTROLLER_UID)
    assert status["NoNewPrivs"] == "1"
    environ = process_environment(pid)
    assert b"POD_NAMESPACE=" + NAMESPACE.encode() in environ
    assert b"KUBERNETES_SERVICE_HOST=10.96.0.1" in environ
    readiness = await installed.readiness(pod)
    assert readiness["status"] == "ok", readiness
    assert readiness["checks"]["datastorage"] == "reachable", readiness

    # The examples through that pod, each to its predicted outcome.
    expected: dict[tuple[str, str], tuple[str, str | None]] = {}
    for path in EXAMPLES:
        text = path.read_text(encoding="utf-8")
        outcome = OUTCOME.search(text)
        assert outcome is not None, path
        (document,) = [d for d in yaml.safe_load_all(text) if d]
        metadata = document["metadata"]
        expected[metadata["namespace"], metadata["name"]] = (outcome[1], outcome[2])
        await installed.kubectl("create", "-f", str(path))

    async def all_ended() -> bool:
        for (namespace, name), (phase, reason) in expected.items():
            status = await wfe_phase(installed, namespace, name)
            if status.get("phase") != phase:
                return False
            if reason is not None:
                assert status.get("failureDetails", {}).get("reason") == reason, (name, status)
        return True

    await eventually(all_ended, "every example to reach its outcome", 240, installed)
    audited = await stored_audit_events(installed.audit_url, "rr-hello-world")
    assert audited, "the controller pod's audit events never reached the audit service"

    # An upgrade with a changed value rolls the pod.
    await installed.apply(chart_values(execution={"cooldownPeriod": "20s"}), chart_file)
    (rolled,) = await rolled_out(installed)
    assert rolled["metadata"]["name"] != pod["metadata"]["name"]
    assert installed.node.service_pods.container_pid(pod["metadata"]["name"]) is None

    # The uninstall with a WFE still Running in another namespace: none stays on its finalizer.
    await installed.kubectl("create", "namespace", "team-a")
    running = wfe_body("uninstall-running", namespace="team-a", delay_seconds=600)
    answer = await installed.client.post(
        "/apis/kubernaut.ai/v1alpha1/namespaces/team-a/workflowexecutions", json=running
    )
    assert answer.status_code == 201, answer.text

    async def is_running() -> bool:
        return (await wfe_phase(installed, "team-a", "uninstall-running")).get("phase") == "Running"

    await eventually(is_running, "the team-a WFE to run", 60, installed)
    await uninstall_and_check_nothing_is_left(installed, chart_file)


async def test_a_missing_verb_keeps_the_pod_unready_and_says_which(
    installed: Installation, chart_file: Path
) -> None:
    def without_watch_of_pipelineruns(documents: list[dict[str, Any]]) -> None:
        (role,) = [d for d in documents if d["kind"] == "ClusterRole"]
        for rule in role["rules"]:
            if "pipelineruns" in rule["resources"]:
                rule["verbs"].remove("watch")

    await installed.apply(chart_values(), chart_file, edit=without_watch_of_pipelineruns)

    async def unready_for_the_permission() -> dict[str, Any] | None:
        pods = await installed.pods()
        if len(pods) != 1 or not (pods[0].get("status") or {}).get("podIP"):
            return None
        answer = await installed.probe(pods[0], "/readyz")
        return pods[0] if answer.startswith("503") and "pipelineruns" in answer else None

    pod = await eventually(
        unready_for_the_permission, "/readyz to name the permission", 90, installed
    )
    missing = "watch pipelineruns.tekton.dev cluster-wide"
    assert f"missing permission: {missing}" in await installed.probe(pod, "/readyz")
    assert await ready_pods(installed) == []
    log = installed.node.service_pods.log_tails(200)[pod["metadata"]["name"]]
    assert re.search(rf'"permission": "{missing}".*"event": "missing permission', log), log

    await uninstall_and_check_nothing_is_left(installed, chart_file)


async def test_without_the_tekton_crds_the_pod_is_unready_until_they_are_applied(
    installed: Installation, chart_file: Path
) -> None:
    await installed.kubectl("delete", "-f", str(TEKTON_CRD_DIR), "--wait")
    try:
        await installed.apply(chart_values(), chart_file)

        async def says_tekton_missing() -> dict[str, Any] | None:
            pods = await installed.pods()
            if len(pods) != 1 or not (pods[0].get("status") or {}).get("podIP"):
                return None
            answer = await installed.probe(pods[0], "/readyz")
            return pods[0] if "Tekton CRD" in answer and "not installed" in answer else None

        await eventually(says_tekton_missing, "/readyz to say Tekton is missing", 90, installed)
        assert await ready_pods(installed) == []
    finally:
        await installed.kubectl("apply", "--server-side", "-f", str(TEKTON_CRD_DIR))
    await eventually(lambda: ready_pods(installed), "the pod to become Ready", 90, installed)
    await uninstall_and_check_nothing_is_left(installed, chart_file)


async def test_a_wrong_datastorage_url_leaves_the_pod_ready_and_the_backlog_in_metrics(
    installed: Installation, chart_file: Path
) -> None:
    values = chart_values(datastorage={"url": "http://10.96.0.21:8080"})
    await installed.apply(values, chart_file)
    (pod,) = await rolled_out(installed)
    readiness = await installed.readiness(pod)
    assert readiness["status"] == "ok"
    assert readiness["checks"]["datastorage"].startswith("unreachable"), readiness
    await installed.kubectl("create", "-f", str(REPO_ROOT / "examples" / "hello-world.yaml"))

    async def backlog() -> float:
        metrics = await installed.probe(pod, "/metrics", port=METRICS_PORT)
        found = re.search(r"^workflowexecution_audit_buffer_depth (\S+)$", metrics, re.M)
        return float(found[1]) if found else 0.0

    assert await eventually(backlog, "the audit backlog to show in the metrics", 60, installed) > 0
    await uninstall_and_check_nothing_is_left(installed, chart_file)


async def test_two_replicas_one_leads_and_a_killed_leader_hands_over_within_the_lease(
    installed: Installation, chart_file: Path
) -> None:
    values = chart_values()
    values["replicaCount"] = 2
    values["leaderElection"] = {"enabled": True}
    await installed.apply(values, chart_file)
    lease_path = (
        f"/apis/coordination.k8s.io/v1/namespaces/{NAMESPACE}/leases/workflowexecution.kubernaut.ai"
    )

    async def lease_spec() -> dict[str, Any]:
        answer = await installed.client.get(lease_path)
        spec: dict[str, Any] = answer.json().get("spec", {}) if answer.status_code == 200 else {}
        return spec

    async def one_leader_one_standby() -> tuple[dict[str, Any], dict[str, Any]] | None:
        pods = await installed.pods()
        if len(pods) != 2 or not (await lease_spec()).get("holderIdentity"):
            return None
        states = {}
        for pod in pods:
            answer = await installed.probe(pod, "/readyz")
            states[pod["metadata"]["name"]] = (pod, answer)
        leading = [p for p, a in states.values() if a.startswith("200")]
        standby = [p for p, a in states.values() if "does not hold the leader lease" in a]
        return (leading[0], standby[0]) if len(leading) == 1 and len(standby) == 1 else None

    leader, _standby = await eventually(
        one_leader_one_standby, "one leader and one standby", 120, installed
    )
    before = await lease_spec()
    assert before["holderIdentity"].startswith(leader["metadata"]["name"]), before

    pid = installed.node.service_pods.container_pid(leader["metadata"]["name"])
    assert pid is not None
    os.kill(pid, signal.SIGKILL)

    async def taken_over() -> dict[str, Any] | None:
        spec = await lease_spec()
        return (
            spec if spec.get("holderIdentity") not in {None, "", before["holderIdentity"]} else None
        )

    after = await eventually(taken_over, "another instance to take the Lease", 60, installed)
    # The Lease's own times (the API server's record), not this machine's speed: the new holder
    # waited for the lease to expire after the killed leader's last renewal, then took it at its
    # next retry (2 s; one more renewal interval of slack for `before` being read early).
    waited = (micro_time(after["acquireTime"]) - micro_time(before["renewTime"])).total_seconds()
    duration = float(before["leaseDurationSeconds"])
    assert duration <= waited + 1.0, f"the Lease was taken {waited:.1f} s after the last renewal"
    assert waited <= duration + 2 * 2.0 + 3.0, f"the handover took {waited:.1f} s"
    print(f"Lease taken by {after['holderIdentity']} {waited:.1f} s after the last renewal")
    await uninstall_and_check_nothing_is_left(installed, chart_file)


def micro_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def crash_looping(installed: Installation) -> dict[str, Any] | None:
    """The one controller pod once it waits in CrashLoopBackOff (its last run ended)."""
    for pod in await installed.pods():
        for container in (pod.get("status") or {}).get("containerStatuses") or []:
            waiting = (container.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") == "CrashLoopBackOff":
                return pod
    return None


async def test_without_a_service_account_token_the_pod_crash_loops_saying_why(
    installed: Installation, chart_file: Path
) -> None:
    def without_token(documents: list[dict[str, Any]]) -> None:
        (deployment,) = [d for d in documents if d["kind"] == "Deployment"]
        deployment["spec"]["template"]["spec"]["automountServiceAccountToken"] = False

    await installed.apply(chart_values(), chart_file, edit=without_token)
    pod = await eventually(lambda: crash_looping(installed), "CrashLoopBackOff", 90, installed)
    (container,) = pod["status"]["containerStatuses"]
    assert container["lastState"]["terminated"]["exitCode"] == 2, container
    log = installed.node.service_pods.log_tails(5)[pod["metadata"]["name"]]
    assert "serviceaccount/token: cannot read: No such file or directory" in log, log
    await uninstall_and_check_nothing_is_left(installed, chart_file)


async def test_a_memory_limit_too_small_is_oom_killed_and_restarted(
    installed: Installation, chart_file: Path
) -> None:
    values = chart_values()
    values["resources"] = {"limits": {"memory": "24Mi"}, "requests": {"memory": "24Mi"}}
    await installed.apply(values, chart_file)
    pod = await eventually(lambda: crash_looping(installed), "CrashLoopBackOff", 90, installed)
    (container,) = pod["status"]["containerStatuses"]
    assert container["lastState"]["terminated"]["reason"] == "OOMKilled", container
    assert container["lastState"]["terminated"]["exitCode"] == 137, container
    assert container["restartCount"] >= 1
    await uninstall_and_check_nothing_is_left(installed, chart_file)
