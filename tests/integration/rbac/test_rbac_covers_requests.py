"""Every API request the controller really makes is allowed by the chart's rendered RBAC.

The controller runs as its own process (on the real API server, on the ServiceAccount of
`deploy/rbac/`, unless `INTEGRATION_TARGET=emulator`); one WFE runs to completion (and its lock is
released after the cooldown), another is deleted while Running, and a catalog snapshot naming a
ServiceAccount of the execution namespace starts running as it. The stack's requests are the
controller's own (its client's and kopf's); those of this test also carry a marker query
parameter, so they can never be counted as the controller's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest

from kubernaut_wfe_tools.emulator import RequestRecord
from kubernaut_wfe_tools.testing.catalog_fixtures import catalog_variant
from kubernaut_wfe_tools.testing.stack import (
    EXECUTION_NAMESPACE,
    IntegrationStack,
    finished_status,
    serving_stack,
    sqlite_audit_service,
    wfe_body,
)
from kubernaut_wfe_tools.testing.testcluster import TestCluster

pytestmark = pytest.mark.timeout(120)

REPO_ROOT = Path(__file__).resolve().parents[3]
CONTROLLER_NAMESPACE = "kubernaut-system"
TEST_MARK = "rbac-test-origin"
SUCCEEDED = "Tasks Completed: 1 (Failed: 0, Cancelled 0), Skipped: 0"


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
    assert grants.allows(Request("get", "", "serviceaccounts", EXECUTION_NAMESPACE))
    assert not grants.allows(Request("get", "", "serviceaccounts", "default"))
    assert not grants.allows(Request("get", "", "serviceaccounts", None))
    assert not grants.allows(Request("list", "", "serviceaccounts", EXECUTION_NAMESPACE))


CATALOG_ACCOUNT = "rbac-catalog-runner"


async def drive_lifecycle(stack: IntegrationStack) -> None:
    """One WFE to completion and lock release, one deleted while Running, one catalog snapshot
    naming a ServiceAccount of the execution namespace (read before its run is created)."""
    for name in ("done", "doomed"):
        await stack.create(wfe_body(name))
        await stack.wait_phase(name, "Running")

    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": CATALOG_ACCOUNT}}
    answer = await stack.client.post(
        f"/api/v1/namespaces/{EXECUTION_NAMESPACE}/serviceaccounts", json=account
    )
    assert answer.status_code in (201, 409), answer.text  # 409: an earlier test made it
    changes = {
        "targetResource": "default/deployment/identity",
        "workflowRef.serviceAccountName": CATALOG_ACCOUNT,
    }
    await stack.create(catalog_variant(changes, name="identity"))
    await stack.wait_phase("identity", "Running")

    done = await stack.wfe("done")
    assert done is not None
    run_name = done["status"]["pipelineRunRef"]["name"]
    await stack.write_run_status(run_name, finished_status("True", "Succeeded", SUCCEEDED))
    await stack.wait_phase("done", "Completed")
    await stack.wait_run_gone(run_name)  # the lock, released after the cooldown

    await stack.delete("doomed")
    await stack.wait_wfe_gone("doomed")


async def test_every_request_of_the_controller_is_allowed(
    tmp_path: Path, api_cluster: TestCluster | None
) -> None:
    async with (
        sqlite_audit_service(tmp_path) as audit_url,
        serving_stack(
            IntegrationStack,
            tmp_path,
            audit_url,
            cluster=api_cluster,
            namespaces=(EXECUTION_NAMESPACE, CONTROLLER_NAMESPACE),
            tekton=False,
            client_params={TEST_MARK: "1"},
        ) as stack,
    ):
        await stack.start_controller(cooldown="1s", env={"POD_NAMESPACE": CONTROLLER_NAMESPACE})
        await drive_lifecycle(stack)

    # Discovery (`/api`, `/apis`, `/version`) is granted to every authenticated user by the
    # server's own system:discovery role: only resource requests are the chart's to grant.
    records = [r for r in stack.requests if TEST_MARK not in r.query and r.resource is not None]
    assert records, "the controller made no request at all"
    # On the real server, the RBAC of deploy/rbac/ refused none of them:
    assert [str(r.path) for r in records if r.status == 403] == []
    requests = {as_request(r) for r in records}
    seen = {(r.verb, r.group, r.resource) for r in requests}
    # the lifecycle really exercised the controller's writes, and kopf's own watches are there
    assert {
        ("watch", "kubernaut.ai", "workflowexecutions"),
        ("watch", "tekton.dev", "pipelineruns"),
        ("create", "tekton.dev", "pipelineruns"),
        ("delete", "tekton.dev", "pipelineruns"),
        ("get", "", "serviceaccounts"),
    } <= seen, sorted(seen)
    assert any(verb in ("patch", "update") and res.startswith("workflowexecutions")
               for verb, _, res in seen), sorted(seen)  # fmt: skip
    assert any(res == "events" for _, _, res in seen), sorted(seen)
    # the ServiceAccount a catalog snapshot names is read in the execution namespace only
    accounts = {str(r) for r in requests if r.resource == "serviceaccounts"}
    assert accounts == {f"get core/serviceaccounts in {EXECUTION_NAMESPACE}"}, accounts
    # kopf's resource discovery and the start-up CRD check read CRDs
    assert any(res == "customresourcedefinitions" for _, _, res in seen), sorted(seen)
    # The start-up review of kopf's watch permissions asks the server itself, which every
    # authenticated user may (the server's own system:basic-user role): not the chart's to grant.
    review = Request("create", "authorization.k8s.io", "selfsubjectaccessreviews", None)
    assert review in requests, sorted(seen)
    grants = rendered_grants()
    denied = sorted(str(r) for r in requests - {review} if not grants.allows(r))
    assert denied == [], "requests the chart's RBAC would forbid:\n" + "\n".join(denied)
