"""One lock per target across engines: a Pending WFE reads its lock name as a PipelineRun and as
a Job (its own kind first), and a run of either kind holds the target."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kubernaut_wfe.constants import Annotation, FailureReason
from kubernaut_wfe.core.naming import pipelinerun_name
from kubernaut_wfe.reconcile.cache import ObjectCache

from .conftest import KubeFactory, reconciler_on, wfe_document  # noqa: TID252

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
KEY = ("team", "w")
LOCK = pipelinerun_name("team/deployment/x")
HOLDER = {
    "apiVersion": "kubernaut.ai/v1alpha1",
    "kind": "WorkflowExecution",
    "metadata": {"name": "holder", "namespace": "team", "uid": "holder-uid"},
    "spec": {
        "remediationRequestRef": {"name": "rr-h"},
        "workflowRef": {
            "workflowId": "x",
            "version": "1",
            "containerImage": "q/x:v1",
            "executionEngine": "job",
        },
        "targetResource": "team/deployment/x",
    },
    "status": {"phase": "Running", "startTime": "2026-01-01T11:00:00Z"},
}
HOLDING_JOB = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "metadata": {
        "name": LOCK,
        "namespace": "kubernaut-workflows",
        "uid": "job-uid",
        "resourceVersion": "9",
        "annotations": {
            Annotation.WORKFLOW_EXECUTION.value: "team/holder",
            Annotation.WORKFLOW_EXECUTION_UID.value: "holder-uid",
        },
    },
    "status": {"active": 1},
}


class Api:
    """A Job holds the lock name; no PipelineRun does; status writes are echoed."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []

    def __call__(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        self.requests.append((method, path))
        if path.endswith("/events"):
            return 201, body
        if method == "GET" and path.endswith(f"/jobs/{LOCK}"):
            return 200, HOLDING_JOB
        if method == "GET" and path.endswith("/workflowexecutions/holder"):
            return 200, HOLDER
        if method == "PATCH":
            status = (body or {}).get("status") or {}
            return 200, wfe_document(status, resourceVersion="6")
        return 404, {"kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404}

    def lock_reads(self) -> list[str]:
        return [path.rsplit("/", 2)[-2] for method, path in self.requests if path.endswith(LOCK)]


async def test_a_job_holding_the_target_deduplicates_a_tekton_wfe(
    scripted_kube: KubeFactory,
) -> None:
    cache = ObjectCache()
    cache.store_wfe(wfe_document({}))
    api = Api()
    subject = reconciler_on(await scripted_kube(api), cache, now=lambda: NOW)
    await subject.reconcile(KEY)
    assert api.lock_reads() == ["pipelineruns", "jobs"]
    assert any(method == "PATCH" and path.endswith("/status") for method, path in api.requests)
    written = cache.wfe(KEY)
    assert written is not None
    details = written["status"]["failureDetails"]
    assert details["reason"] == FailureReason.DEDUPLICATED
    assert f"Job kubernaut-workflows/{LOCK}" in details["message"]
