"""The e2e scenarios of testing.md, the same on every target (E2E_TARGET)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kubernaut_wfe.constants import (
    PIPELINERUN_KIND,
    PIPELINERUN_PLURAL,
    RUN_DELETED_EXTERNALLY,
    TEKTON_API_VERSION,
    AuditEventType,
    ConditionReason,
    ConditionType,
    FailureReason,
    Phase,
)

from .conftest import wfe_manifest  # noqa: TID252
from .target import Target, wait_for_wfe, wfe_path  # noqa: TID252

pytestmark = pytest.mark.timeout(360)


def _condition(wfe: dict[str, Any], kind: str) -> dict[str, Any]:
    for condition in (wfe.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            found: dict[str, Any] = condition
            return found
    return {}


def _phase_is(phase: Phase) -> Any:
    return lambda wfe: (wfe.get("status") or {}).get("phase") == phase.value


def _audit_settled(wfe: dict[str, Any]) -> bool:
    return _condition(wfe, ConditionType.AUDIT_RECORDED.value).get("reason") in (
        ConditionReason.AUDIT_SUCCEEDED.value,
        ConditionReason.AUDIT_FAILED.value,
    )


def _create(kube: httpx.Client, body: dict[str, Any]) -> None:
    namespace = body["metadata"]["namespace"]
    response = kube.post(wfe_path(namespace), json=body)
    assert response.status_code == 201, response.text


def _audit_trail(target: Target, correlation_id: str) -> list[dict[str, Any]]:
    with httpx.Client(base_url=target.audit_url, timeout=30.0, trust_env=False) as client:
        response = client.get(
            "/api/v1/audit/events", params={"correlation_id": correlation_id, "limit": 1000}
        )
    response.raise_for_status()
    events: list[dict[str, Any]] = response.json()["data"]
    return events


@pytest.fixture(scope="session")
def completed_hello_world(target: Target, kube: httpx.Client, namespace: str) -> dict[str, Any]:
    """A hello-world WFE that ran to Completed and whose audit trail settled."""
    name = "hello-world"
    _create(kube, wfe_manifest(name, namespace, target.hello_bundle, {"DELAY_SECONDS": "1"}))
    wait_for_wfe(
        kube, namespace, name, _phase_is(Phase.COMPLETED),
        within=target.wait_seconds, what="phase Completed",
    )  # fmt: skip
    return wait_for_wfe(
        kube, namespace, name, _audit_settled, within=60, what="AuditRecorded to settle"
    )


def test_hello_world_completes_with_a_complete_audit_trail(
    target: Target, completed_hello_world: dict[str, Any]
) -> None:
    wfe = completed_hello_world
    status = wfe["status"]
    assert status["completionTime"]
    assert status["pipelineRunRef"]["name"]
    assert _condition(wfe, ConditionType.READY.value)["status"] == "True"
    assert _condition(wfe, ConditionType.AUDIT_RECORDED.value)["reason"] == (
        ConditionReason.AUDIT_SUCCEEDED.value
    )

    events = _audit_trail(target, wfe["spec"]["remediationRequestRef"]["name"])

    assert sorted(event["event_type"] for event in events) == sorted(
        [
            AuditEventType.SELECTION_COMPLETED.value,
            AuditEventType.EXECUTION_STARTED.value,
            AuditEventType.WORKFLOW_COMPLETED.value,
        ]
    )
    assert {event["resource_id"] for event in events} == {wfe["metadata"]["name"]}
    assert {event["namespace"] for event in events} == {wfe["metadata"]["namespace"]}


def test_failing_bundle_fails_with_task_failed(
    target: Target, kube: httpx.Client, namespace: str, unique: str
) -> None:
    name = f"failing-exit-{unique}"
    parameters = {"DELAY_SECONDS": "1", "FAILURE_MODE": "exit"}
    _create(kube, wfe_manifest(name, namespace, target.failing_bundle, parameters))

    wfe = wait_for_wfe(
        kube, namespace, name, _phase_is(Phase.FAILED),
        within=target.wait_seconds, what="phase Failed",
    )  # fmt: skip

    details = wfe["status"]["failureDetails"]
    assert details["reason"] == FailureReason.TASK_FAILED.value
    assert details["exitCode"] == 1
    assert details["failedTaskName"] == "fail-task"
    assert details["wasExecutionFailure"] is True
    assert details["naturalLanguageSummary"].strip()


def test_pipelinerun_deleted_while_running_fails_the_wfe(
    target: Target, kube: httpx.Client, namespace: str, unique: str
) -> None:
    name = f"deleted-run-{unique}"
    _create(kube, wfe_manifest(name, namespace, target.hello_bundle, {"DELAY_SECONDS": "60"}))
    running = wait_for_wfe(
        kube, namespace, name, _phase_is(Phase.RUNNING),
        within=target.wait_seconds, what="phase Running",
    )  # fmt: skip
    run_name = running["status"]["pipelineRunRef"]["name"]

    response = kube.delete(
        f"/apis/{TEKTON_API_VERSION}/namespaces/{target.execution_namespace}"
        f"/{PIPELINERUN_PLURAL}/{run_name}"
    )
    assert response.status_code in (200, 202), response.text

    wfe = wait_for_wfe(
        kube, namespace, name, _phase_is(Phase.FAILED), within=60, what="phase Failed"
    )
    details = wfe["status"]["failureDetails"]
    assert details["reason"] == FailureReason.UNKNOWN.value
    assert RUN_DELETED_EXTERNALLY.format(kind=PIPELINERUN_KIND) in details["message"]


def test_metrics_count_reconciles_by_outcome(
    target: Target, completed_hello_world: dict[str, Any]
) -> None:
    response = httpx.get(target.metrics_url, timeout=30.0, trust_env=False)

    assert response.status_code == 200
    samples = [
        line
        for line in response.text.splitlines()
        if line.startswith("workflowexecution_reconciler_total{")
    ]
    assert any(f'outcome="{Phase.COMPLETED.value}"' in line for line in samples), samples


@pytest.mark.parametrize("probe", ["/healthz", "/readyz"])
def test_probes_answer_ok(target: Target, probe: str) -> None:
    response = httpx.get(f"{target.health_url}{probe}", timeout=30.0, trust_env=False)

    assert response.status_code == 200, response.text
