"""Run identity of the catalog snapshot (platform contract §4, issue #17) on the real API server:
the ServiceAccount `workflowRef.serviceAccountName` names is read in the execution namespace
before the run is created and the run runs as it; a missing one, or one outside a non-empty
allow-list, fails the WFE `ConfigurationError` without a run; reading it is the controller's only
permission in that namespace, and a refusal of it is reported and waited out, never a failure."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from kubernaut_wfe.constants import FailureReason
from kubernaut_wfe_tools.testing.catalog_fixtures import catalog_variant
from kubernaut_wfe_tools.testing.stack import EXECUTION_NAMESPACE, json_lines
from kubernaut_wfe_tools.testing.testcluster import CONTROLLER_USER, TestCluster

from .conftest import Stack  # noqa: TID252

pytestmark = pytest.mark.timeout(120)

ACCOUNTS_PATH = f"/api/v1/namespaces/{EXECUTION_NAMESPACE}/serviceaccounts"
EXECUTION_ROLE_PATH = (
    f"/apis/rbac.authorization.k8s.io/v1/namespaces/{EXECUTION_NAMESPACE}/roles/"
    "kubernaut-wfe-execution"
)


def catalog_body(name: str, account: str) -> dict[str, Any]:
    """The shared catalog snapshot on a target of its own, naming `account`."""
    changes = {
        "targetResource": f"default/deployment/{name}",
        "workflowRef.serviceAccountName": account,
    }
    return catalog_variant(changes, name=name)


async def create_account(stack: Stack, name: str) -> None:
    """A ServiceAccount in the execution namespace (kept from an earlier test: the cluster's
    reset leaves ServiceAccounts alone)."""
    body = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}}
    answer = await stack.client.post(ACCOUNTS_PATH, json=body)
    assert answer.status_code in (201, 409), answer.text


def account_reads(stack: Stack) -> list[str]:
    """The controller's requests on ServiceAccounts, as `<verb> <path>`."""
    return [f"{r.verb} {r.path}" for r in stack.requests.filter(resource="serviceaccounts")]


async def test_a_catalog_snapshot_runs_as_the_service_account_it_names(stack: Stack) -> None:
    await create_account(stack, "catalog-deployer")
    await stack.start_controller()
    await stack.create(catalog_body("we-rr-identity", "catalog-deployer"))
    running = await stack.wait_phase("we-rr-identity", "Running")
    run = await stack.run(running["status"]["pipelineRunRef"]["name"])
    assert run is not None
    assert run["spec"]["taskRunTemplate"]["serviceAccountName"] == "catalog-deployer"
    assert account_reads(stack) == [f"get {ACCOUNTS_PATH}/catalog-deployer"]


async def test_a_missing_service_account_fails_naming_it_without_a_run(stack: Stack) -> None:
    await stack.start_controller()
    await stack.create(catalog_body("we-rr-nobody", "no-such-runner"))
    failed = await stack.wait_phase("we-rr-nobody", "Failed")
    details = failed["status"]["failureDetails"]
    assert failed["status"]["failureReason"] == FailureReason.CONFIGURATION_ERROR
    assert details["message"] == (
        'workflowRef.serviceAccountName "no-such-runner": no such ServiceAccount in namespace'
        f" {EXECUTION_NAMESPACE}"
    )
    assert details["wasExecutionFailure"] is False
    assert stack.run_creations() == 0
    assert await stack.runs() == []


async def test_an_account_outside_a_non_empty_allow_list_fails_without_a_read(
    stack: Stack,
) -> None:
    await create_account(stack, "catalog-intruder")  # it exists: only the list refuses it
    config = stack.tmp_path / "config.yaml"
    config.write_text("execution:\n  allowed_service_accounts: [deployer]\n", encoding="utf-8")
    await stack.start_controller("--config", str(config))
    await stack.create(catalog_body("we-rr-unlisted", "catalog-intruder"))
    failed = await stack.wait_phase("we-rr-unlisted", "Failed")
    assert failed["status"]["failureReason"] == FailureReason.CONFIGURATION_ERROR
    message = failed["status"]["failureDetails"]["message"]
    assert message.startswith('spec.workflowRef.serviceAccountName: "catalog-intruder"'), message
    assert "execution.allowed_service_accounts" in message
    assert account_reads(stack) == []
    assert await stack.runs() == []


async def access_allowed(stack: Stack, verb: str, namespace: str | None) -> bool:
    """The API server's answer for the controller's user (a SubjectAccessReview as admin)."""
    attributes = {"verb": verb, "resource": "serviceaccounts"}
    if namespace is not None:
        attributes["namespace"] = namespace
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {"user": CONTROLLER_USER, "resourceAttributes": attributes},
    }
    answer = await stack.client.post(
        "/apis/authorization.k8s.io/v1/subjectaccessreviews", json=review
    )
    assert answer.status_code == 201, answer.text
    return bool(answer.json()["status"].get("allowed"))


async def test_the_controller_may_only_get_service_accounts_of_the_execution_namespace(
    stack: Stack, api_cluster: TestCluster | None
) -> None:
    if api_cluster is None:
        pytest.skip("the emulator has no RBAC")
    assert await access_allowed(stack, "get", EXECUTION_NAMESPACE)
    for verb, namespace in [
        ("get", "default"),
        ("get", "kubernaut-system"),
        ("get", None),
        ("list", EXECUTION_NAMESPACE),
        ("watch", EXECUTION_NAMESPACE),
        ("create", EXECUTION_NAMESPACE),
    ]:
        assert not await access_allowed(stack, verb, namespace), (verb, namespace)


async def test_a_refused_read_keeps_the_wfe_pending_and_is_reported_until_granted(
    stack: Stack, api_cluster: TestCluster | None
) -> None:
    if api_cluster is None:
        pytest.skip("the emulator has no RBAC")
    await create_account(stack, "catalog-deployer")
    granted = (await stack.client.get(EXECUTION_ROLE_PATH)).json()
    stack.forbidden_expected = True
    proc = await stack.start_controller(log_format="json", ready="endpoints")
    revoked = copy.deepcopy(granted)
    revoked["rules"] = []
    answer = await stack.client.put(EXECUTION_ROLE_PATH, json=revoked)
    assert answer.status_code == 200, answer.text
    missing = f"get serviceaccounts in namespace {EXECUTION_NAMESPACE}"
    try:
        await stack.create(catalog_body("we-rr-refused", "catalog-deployer"))

        async def named_in_readiness() -> dict[str, Any] | None:
            report = await readiness(proc.ports())
            return report if missing in str(report.get("checks", {}).get("permissions")) else None

        report = await stack.wait_for(named_in_readiness, what="readiness to name the permission")
        assert report["checks"]["permissions"] == {"missing": [missing]}
        assert [line for line in json_lines(proc.log()) if line.get("permission") == missing]
        pending = await stack.wfe("we-rr-refused")
        assert pending is not None
        assert (pending.get("status") or {}).get("phase") in (None, "Pending")
        assert await stack.runs() == []
    finally:
        restored = (await stack.client.get(EXECUTION_ROLE_PATH)).json()
        restored["rules"] = granted["rules"]
        answer = await stack.client.put(EXECUTION_ROLE_PATH, json=restored)
        assert answer.status_code == 200, answer.text
    running = await stack.wait_phase("we-rr-refused", "Running")
    run = await stack.run(running["status"]["pipelineRunRef"]["name"])
    assert run is not None
    assert run["spec"]["taskRunTemplate"]["serviceAccountName"] == "catalog-deployer"


async def readiness(ports: dict[str, int] | None) -> dict[str, Any]:
    """The controller's `/readyz` answer."""
    assert ports is not None
    async with httpx.AsyncClient() as probe:
        answer = await probe.get(f"http://127.0.0.1:{ports['probes']}/readyz")
    body: dict[str, Any] = answer.json()
    return body
