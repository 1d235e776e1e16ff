"""The controller on the real API server as the ServiceAccount `deploy/rbac/` defines: a whole
lifecycle without one refused request, what only the controller checks, and a permission taken
away and given back."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubernaut_wfe_tools.testing.stack import json_lines, wfe_body
from kubernaut_wfe_tools.testing.targets import WFE_API
from kubernaut_wfe_tools.testing.testcluster import CONTROLLER_USER, TestCluster

from .conftest import ServerStack  # noqa: TID252

pytestmark = pytest.mark.timeout(180)

REPO_ROOT = Path(__file__).resolve().parents[3]
ROLE_PATH = "/apis/rbac.authorization.k8s.io/v1/clusterroles/kubernaut-wfe-controller"


def _wfe_path(name: str, namespace: str = "default") -> str:
    return f"{WFE_API}/namespaces/{namespace}/workflowexecutions/{name}"


def _requests(records: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {
        (
            r["verb"],
            (r.get("objectRef") or {}).get("resource", ""),
            (r.get("objectRef") or {}).get("subresource", ""),
        )
        for r in records
    }


async def test_a_whole_lifecycle_on_the_controller_identity_without_a_refusal(
    stack: ServerStack, cluster: TestCluster
) -> None:
    seen_before = len(cluster.audit_records())
    await stack.start_controller()
    await stack.create(wfe_body("identity-done"))
    await stack.create(wfe_body("identity-deleted", delay_seconds=600))
    completed = await stack.wait_phase("identity-done", "Completed")
    assert completed["status"]["pipelineRunRef"]["name"].startswith("wfe-")
    await stack.wait_phase("identity-deleted", "Running")
    answer = await stack.client.delete(_wfe_path("identity-deleted"))
    assert answer.status_code == 200, answer.text

    async def settled() -> bool:
        runs = {
            (r["metadata"].get("annotations") or {}).get("kubernaut.ai/workflow-execution")
            for r in await stack.runs()
        }
        gone = await stack.wfe("identity-deleted") is None
        return gone and not {"default/identity-done", "default/identity-deleted"} & runs

    await stack.wait_for(settled, what="the deleted WFE gone and both locks released")

    mine = [
        r for r in cluster.audit_records()[seen_before:] if r["user"]["username"] == CONTROLLER_USER
    ]
    refused = [
        (r["verb"], r["requestURI"], r["responseStatus"]["code"])
        for r in mine
        if r["responseStatus"]["code"] == 403
    ]
    assert refused == []
    made = _requests(mine)
    for request in [
        ("create", "pipelineruns", ""),
        ("delete", "pipelineruns", ""),
        ("patch", "workflowexecutions", "status"),
        ("watch", "workflowexecutions", ""),
        ("watch", "pipelineruns", ""),
    ]:
        assert request in made, sorted(made)


CONTROLLER_ONLY = [p for p in sorted((REPO_ROOT / "examples" / "bad").glob("*.yaml"))
                   if "# checked-by: controller" in p.read_text(encoding="utf-8")]  # fmt: skip


async def test_what_only_the_controller_checks_is_admitted_and_then_failed(
    stack: ServerStack,
) -> None:
    assert CONTROLLER_ONLY, "examples/bad has no file marked '# checked-by: controller'"
    await stack.start_controller()
    names = []
    for index, path in enumerate(CONTROLLER_ONLY):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        document["metadata"] = {"name": f"controller-checks-{index}", "namespace": "default"}
        document["spec"]["targetResource"] = f"default/deployment/controller-checks-{index}"
        await stack.create(document)
        names.append(document["metadata"]["name"])
    for name in names:
        failed = await stack.wait_phase(name, "Failed")
        assert failed["status"]["failureDetails"]["reason"] == "ConfigurationError", failed[
            "status"
        ]


async def test_a_missing_permission_is_named_and_the_controller_recovers_when_it_is_restored(
    stack: ServerStack, cluster: TestCluster
) -> None:
    granted = (await stack.client.get(ROLE_PATH)).json()
    reduced = copy.deepcopy(granted)
    status_rule = next(
        r for r in reduced["rules"] if r["resources"] == ["workflowexecutions/status"]
    )
    status_rule["verbs"] = [verb for verb in status_rule["verbs"] if verb != "patch"]
    stack.forbidden_expected = True
    proc = await stack.start_controller()
    answer = await stack.client.put(ROLE_PATH, json=reduced)
    assert answer.status_code == 200, answer.text
    try:
        await stack.create(wfe_body("identity-denied"))
        missing = "patch workflowexecutions.kubernaut.ai/status in namespace default"

        async def named_in_readiness() -> dict[str, Any] | None:
            report = await stack.readiness(proc)
            return report if missing in report.get("reason", "") else None

        report = await stack.wait_for(named_in_readiness, what="readiness to name the permission")
        assert report["status"] == "failed"
        assert report["checks"]["permissions"] == {"missing": [missing]}
        logged = [line for line in json_lines(proc.log()) if line.get("permission") == missing]
        assert logged, proc.log()[-3000:]
        assert logged[0]["level"] == "error"
        assert re.search(r"missing permission", logged[0]["event"])
    finally:
        restored = (await stack.client.get(ROLE_PATH)).json()
        restored["rules"] = granted["rules"]
        answer = await stack.client.put(ROLE_PATH, json=restored)
        assert answer.status_code == 200, answer.text

    await stack.wait_phase("identity-denied", "Completed")

    async def ready_again() -> bool:
        return bool((await stack.readiness(proc))["status"] == "ok")

    await stack.wait_for(ready_again, what="readiness to recover")
