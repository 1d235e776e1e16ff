"""The objects the benchmarks create: WorkflowExecutions (fresh or settled) and run statuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from kubernaut_wfe.constants import FINALIZER, Annotation, AuditEventType, Label

EXECUTION_NAMESPACE = "kubernaut-workflows"
WFE_NAMESPACE = "default"
IMAGE = "quay.io/kubernaut/workflows/hello-world:v1"
RFC3339 = "%Y-%m-%dT%H:%M:%SZ"
AUDITED = (
    AuditEventType.SELECTION_COMPLETED,
    AuditEventType.EXECUTION_STARTED,
    AuditEventType.WORKFLOW_COMPLETED,
)


def namespace(name: str) -> dict[str, Any]:
    """A Namespace object."""
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def wfe_name(index: int) -> str:
    """The name of the benchmark's WFE number `index`."""
    return f"bench-{index:05d}"


def wfe(index: int) -> dict[str, Any]:
    """A valid WorkflowExecution on its own target (so no two WFEs share a lock)."""
    name = wfe_name(index)
    return {
        "apiVersion": "kubernaut.ai/v1alpha1",
        "kind": "WorkflowExecution",
        "metadata": {"name": name, "namespace": WFE_NAMESPACE},
        "spec": {
            "remediationRequestRef": {"name": f"rr-{name}"},
            "workflowRef": {
                "workflowId": "hello-world",
                "version": "1.0.0",
                "containerImage": IMAGE,
            },
            "targetResource": f"{WFE_NAMESPACE}/deployment/{name}",
            "parameters": {"DELAY_SECONDS": "3600"},
        },
    }


def succeeded_status(now: datetime | None = None) -> dict[str, Any]:
    """A PipelineRun status with a final `Succeeded=True` condition."""
    ended = now or datetime.now(UTC)
    return {
        "conditions": [
            {
                "type": "Succeeded",
                "status": "True",
                "reason": "Succeeded",
                "message": "Tasks Completed: 1 (Failed: 0, Cancelled 0), Skipped: 0",
                "lastTransitionTime": ended.strftime(RFC3339),
            }
        ],
        "startTime": (ended - timedelta(seconds=5)).strftime(RFC3339),
        "completionTime": ended.strftime(RFC3339),
    }


def settled_wfe(index: int, ended: datetime) -> dict[str, Any]:
    """A WFE long finished: Completed at `ended`, finalizer present, every audit event recorded,
    its run already deleted (the lock released) — what a controller finds after a restart."""
    body = wfe(index)
    body["metadata"]["finalizers"] = [FINALIZER]
    body["metadata"]["generation"] = 1
    started, done = (ended - timedelta(seconds=30)).strftime(RFC3339), ended.strftime(RFC3339)
    target = body["spec"]["targetResource"]

    def condition(kind: str, status: str, reason: str, message: str, at: str) -> dict[str, Any]:
        return {
            "type": kind,
            "status": status,
            "reason": reason,
            "message": message,
            "lastTransitionTime": at,
            "observedGeneration": 1,
        }

    body["status"] = {
        "phase": "Completed",
        "observedGeneration": 1,
        "startTime": started,
        "completionTime": done,
        "duration": "30s",
        "pipelineRunRef": {"name": f"wfe-settled-{index:05d}"},
        "pipelineRunStatus": {
            "status": "True",
            "reason": "Succeeded",
            "message": "Tasks Completed: 1 (Failed: 0, Cancelled 0), Skipped: 0",
            "completedTasks": 1,
        },
        "conditions": [
            condition("TektonPipelineCreated", "True", "PipelineCreated", "Created", started),
            condition("ResourceLocked", "False", "LockAcquired", f"Held {target}", started),
            condition("TektonPipelineRunning", "True", "PipelineStarted", "Started", started),
            condition("TektonPipelineComplete", "True", "PipelineSucceeded", "Done", done),
            condition("Ready", "True", "Completed", "Workflow completed", done),
            condition("AuditRecorded", "True", "AuditSucceeded", "All recorded", done),
        ],
        "auditedEvents": [event.value for event in AUDITED],
        "rejectedAuditEvents": [],
    }
    return body


def run_metadata(
    wfe: dict[str, Any], run_name: str, extra_labels: dict[str, str] | None = None
) -> dict[str, Any]:
    """The metadata the controller gives a run of either kind (labels and ownership)."""
    meta, spec = wfe["metadata"], wfe["spec"]
    name, target = meta["name"], spec["targetResource"]
    return {
        "name": run_name,
        "namespace": EXECUTION_NAMESPACE,
        "labels": {
            Label.WORKFLOW_EXECUTION.value: name,
            Label.SOURCE_NAMESPACE.value: meta["namespace"],
            Label.WORKFLOW_ID.value: spec["workflowRef"]["workflowId"],
            Label.TARGET_RESOURCE.value: target.replace("/", "__"),
            **(extra_labels or {}),
        },
        "annotations": {
            Annotation.TARGET_RESOURCE.value: target,
            Annotation.WORKFLOW_EXECUTION.value: f"{meta['namespace']}/{name}",
            Annotation.WORKFLOW_EXECUTION_UID.value: meta["uid"],
        },
    }
