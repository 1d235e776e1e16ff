"""Every API request the controller really makes is allowed by the chart's rendered RBAC.

The controller runs as its own process against the API emulator; one WFE runs to completion (and
its lock is released after the cooldown), another is deleted while Running. Requests made by this
test carry a marker query parameter (the emulator's request log does not record the User-Agent),
so everything else in the log came from the controller: its own client and kopf's.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import helm_python as helm
import httpx
import pytest

from kubernaut_wfe.emulator import ApiEmulator, RequestRecord
from kubernaut_wfe.testing.audit_service import in_process_audit_service

pytestmark = pytest.mark.timeout(120)

REPO_ROOT = Path(__file__).resolve().parents[3]
CONTROLLER_NAMESPACE = "kubernaut-system"
EXECUTION_NAMESPACE = "kubernaut-workflows"
TEST_MARK = "rbac-test-origin"
WFE_PATH = "/apis/kubernaut.ai/v1alpha1/namespaces/default/workflowexecutions"
RUNS_PATH = f"/apis/tekton.dev/v1/namespaces/{EXECUTION_NAMESPACE}/pipelineruns"
WAIT_SECONDS = 40.0
RFC3339 = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class Rule:
    groups: frozenset[str]
    resources: frozenset[str]
    verbs: frozenset[str]

    def allows(self, group: str, resource: str, verb: str) -> bool:
        return group in self.groups and resource in self.resources and verb in self.verbs


@dataclass(frozen=True)
class Request:
    """A logged request in RBAC terms."""

    verb: str
    group: str
    resource: str
    namespace: str | None

    def __str__(self) -> str:
        where = f" in {self.namespace}" if self.namespace else " (cluster-wide)"
        return f"{self.verb} {self.group or 'core'}/{self.resource}{where}"


def api_group(path: str) -> str:
    """`""` for `/api/v1/...`, the group for `/apis/<group>/<version>/...`."""
    parts = path.strip("/").split("/")
    return "" if parts[0] == "api" else parts[1]


def as_request(record: RequestRecord) -> Request:
    assert record.verb is not None, record
    assert record.resource is not None, record
    resource = record.resource + (f"/{record.subresource}" if record.subresource else "")
    return Request(record.verb, api_group(record.path), resource, record.namespace)


def _rules(document: dict[str, Any]) -> list[Rule]:
    return [
        Rule(frozenset(r["apiGroups"]), frozenset(r["resources"]), frozenset(r["verbs"]))
        for r in document["rules"]
    ]


@dataclass
class Grants:
    """The rendered ClusterRole (everywhere) and Role (in its namespace only)."""

    cluster: list[Rule]
    namespaced: dict[str, list[Rule]]

    def allows(self, request: Request) -> bool:
        if any(rule.allows(request.group, request.resource, request.verb) for rule in self.cluster):
            return True
        local = self.namespaced.get(request.namespace or "", [])
        return any(rule.allows(request.group, request.resource, request.verb) for rule in local)


def rendered_grants() -> Grants:
    """RBAC of the chart rendered as `helm install kubernaut-wfe -n kubernaut-system`."""
    import yaml

    chart = helm.Chart.load(REPO_ROOT / "charts" / "kubernaut-wfe")
    manifests = chart.render(None, name="kubernaut-wfe", namespace=CONTROLLER_NAMESPACE)
    documents = [
        d
        for path, text in manifests.items()
        if path.endswith(".yaml")
        for d in yaml.safe_load_all(text)
        if d
    ]
    cluster = [r for d in documents if d["kind"] == "ClusterRole" for r in _rules(d)]
    namespaced: dict[str, list[Rule]] = {}
    for document in documents:
        if document["kind"] == "Role":
            namespaced.setdefault(document["metadata"]["namespace"], []).extend(_rules(document))
    assert cluster, "the chart renders a ClusterRole"
    assert namespaced, "the chart renders a Role"
    return Grants(cluster, namespaced)


def test_grants_deny_what_is_not_listed() -> None:
    grants = rendered_grants()
    assert grants.allows(Request("watch", "kubernaut.ai", "workflowexecutions", None))
    assert grants.allows(Request("update", "coordination.k8s.io", "leases", CONTROLLER_NAMESPACE))
    assert not grants.allows(Request("update", "coordination.k8s.io", "leases", "default"))
    assert not grants.allows(Request("delete", "kubernaut.ai", "workflowexecutions", "default"))
    assert not grants.allows(Request("update", "tekton.dev", "pipelineruns/status", "x"))
    assert not grants.allows(Request("get", "", "secrets", "default"))


def finished(succeeded: str, reason: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "conditions": [
            {
                "type": "Succeeded",
                "status": succeeded,
                "reason": reason,
                "message": "Tasks Completed: 1 (Failed: 0, Cancelled 0), Skipped: 0",
                "lastTransitionTime": now.strftime(RFC3339),
            }
        ],
        "startTime": (now - timedelta(seconds=3)).strftime(RFC3339),
        "completionTime": now.strftime(RFC3339),
    }


def wfe(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "kubernaut.ai/v1alpha1",
        "kind": "WorkflowExecution",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "remediationRequestRef": {"name": f"rr-{name}"},
            "workflowRef": {
                "workflowId": "hello-world",
                "version": "1.0.0",
                "containerImage": "quay.io/kubernaut/workflows/hello-world:v1",
            },
            "targetResource": f"default/deployment/{name}",
            "parameters": {"DELAY_SECONDS": "0"},
        },
    }


async def wait_for(probe: Callable[[], Any], what: str, log: Path) -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    while not (result := probe()):
        if loop.time() > deadline:
            text = await asyncio.to_thread(log.read_text, encoding="utf-8", errors="replace")
            tail = text[-6000:]
            pytest.fail(f"timed out waiting for {what}\n--- controller log ---\n{tail}")
        await asyncio.sleep(0.05)
    return result


def audit_service(tmp_path: Path) -> contextlib.AbstractAsyncContextManager[str]:
    return in_process_audit_service(f"sqlite:///{tmp_path / 'audit.db'}")


@contextlib.asynccontextmanager
async def controller(kubeconfig: Path, audit_url: str, log: Path) -> AsyncIterator[None]:
    """`kubernaut-wfe run` as a child process in the controller's namespace."""
    sink = await asyncio.to_thread(log.open, "ab")
    with sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "kubernaut_wfe", "run",
            "--kubeconfig", str(kubeconfig),
            "--datastorage-url", audit_url,
            "--cooldown-period", "1s",
            "--metrics-bind-address", "127.0.0.1:0",
            "--health-probe-bind-address", "127.0.0.1:0",
            "--log-format", "text",
            stdout=sink, stderr=sink,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "POD_NAMESPACE": CONTROLLER_NAMESPACE},
        )  # fmt: skip
    try:
        yield
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
            await process.wait()


async def drive_lifecycle(emu: ApiEmulator, client: httpx.AsyncClient, log: Path) -> None:
    """One WFE to completion and lock release, one deleted while Running."""

    def phase(name: str) -> str | None:
        obj = emu.read("workflowexecutions", "default", name)
        return ((obj or {}).get("status") or {}).get("phase")

    def running(name: str) -> bool:
        return phase(name) == "Running"

    def run_of(name: str) -> dict[str, Any] | None:
        obj = emu.read("workflowexecutions", "default", name)
        ref = ((obj or {}).get("status") or {}).get("pipelineRunRef") or {}
        return emu.read("pipelineruns", EXECUTION_NAMESPACE, ref["name"]) if ref else None

    for name in ("done", "doomed"):
        (await client.post(WFE_PATH, json=wfe(name))).raise_for_status()
        await wait_for(functools.partial(running, name), f"{name} to be Running", log)

    run = run_of("done")
    assert run is not None
    run_name = run["metadata"]["name"]
    body = {**copy.deepcopy(run), "status": finished("True", "Succeeded")}
    (await client.put(f"{RUNS_PATH}/{run_name}/status", json=body)).raise_for_status()
    await wait_for(lambda: phase("done") == "Completed", "done to be Completed", log)
    await wait_for(
        lambda: emu.read("pipelineruns", EXECUTION_NAMESPACE, run_name) is None,
        "the lock to be released after the cooldown",
        log,
    )

    (await client.delete(f"{WFE_PATH}/doomed")).raise_for_status()
    await wait_for(
        lambda: emu.read("workflowexecutions", "default", "doomed") is None, "doomed to go", log
    )


async def test_every_request_of_the_controller_is_allowed(tmp_path: Path) -> None:
    emu = ApiEmulator()
    log = tmp_path / "controller.log"
    async with (
        emu.serving(host="127.0.0.1", port=0),
        audit_service(tmp_path) as audit_url,
        httpx.AsyncClient(base_url=emu.url, params={TEST_MARK: "1"}, timeout=30) as client,
    ):
        for namespace in (EXECUTION_NAMESPACE, CONTROLLER_NAMESPACE):
            namespace_body = {"apiVersion": "v1", "kind": "Namespace",
                              "metadata": {"name": namespace}}  # fmt: skip
            (await client.post("/api/v1/namespaces", json=namespace_body)).raise_for_status()
        kubeconfig = emu.write_kubeconfig(tmp_path / "kubeconfig")
        async with controller(kubeconfig, audit_url, log):
            await wait_for(
                lambda: emu.request_log.filter(verb="watch", resource="taskruns"),
                "the controller's watches",
                log,
            )
            await drive_lifecycle(emu, client, log)

    records = [r for r in emu.request_log if TEST_MARK not in r.query]
    assert records, "the controller made no request at all"
    requests = {as_request(r) for r in records}
    seen = {(r.verb, r.group, r.resource) for r in requests}
    # the lifecycle really exercised the controller's writes, and kopf's own watches are there
    assert {
        ("watch", "kubernaut.ai", "workflowexecutions"),
        ("watch", "tekton.dev", "pipelineruns"),
        ("create", "tekton.dev", "pipelineruns"),
        ("delete", "tekton.dev", "pipelineruns"),
    } <= seen, sorted(seen)
    assert any(verb in ("patch", "update") and res.startswith("workflowexecutions")
               for verb, _, res in seen), sorted(seen)  # fmt: skip
    assert any(res == "events" for _, _, res in seen), sorted(seen)
    # kopf's resource discovery and the start-up CRD check read CRDs
    assert any(res == "customresourcedefinitions" for _, _, res in seen), sorted(seen)
    grants = rendered_grants()
    denied = sorted(str(r) for r in requests if not grants.allows(r))
    assert denied == [], "requests the chart's RBAC would forbid:\n" + "\n".join(denied)
