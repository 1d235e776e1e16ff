"""PipelineRuns shaped like the ones the controller creates (workflowexecution.md §2).

For tests and demos of the simulator, so that they do not need the controller's builder.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubernaut_wfe.constants import (
    BUNDLE_PIPELINE_NAME,
    PIPELINERUN_KIND,
    RESERVED_PARAMETER,
    TEKTON_API_VERSION,
    Annotation,
    Label,
)

HELLO_WORLD_BUNDLE = "quay.io/kubernaut-test/hello-world:v1.0.0"
FAILING_BUNDLE = "quay.io/kubernaut-test/failing:v1.0.0"
SAMPLE_NAME = "wfe-f3457dcc8fbcb6d9"
SAMPLE_NAMESPACE = "kubernaut-workflows"
SAMPLE_TARGET = "default/deployment/nginx"


def sample_pipelinerun(
    *,
    bundle: str = HELLO_WORLD_BUNDLE,
    params: Mapping[str, str] | None = None,
    timeout: str | None = None,
    name: str = SAMPLE_NAME,
    namespace: str = SAMPLE_NAMESPACE,
    uid: str | None = "0b6c5c1e-0000-4000-8000-000000000001",
    workspaces: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A PipelineRun as the controller builds it; `uid=None` leaves it for the API server;
    `workspaces` are its `spec.workspaces` bindings (none by default)."""
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "labels": {
            Label.WORKFLOW_EXECUTION: "restart-nginx",
            Label.SOURCE_NAMESPACE: "default",
            Label.WORKFLOW_ID: "restart-deployment",
            Label.TARGET_RESOURCE: SAMPLE_TARGET.replace("/", "__"),
        },
        "annotations": {
            Annotation.TARGET_RESOURCE: SAMPLE_TARGET,
            Annotation.WORKFLOW_EXECUTION: "default/restart-nginx",
            Annotation.WORKFLOW_EXECUTION_UID: "6a1f0e2c-0000-4000-8000-0000000000aa",
        },
    }
    if uid is not None:
        metadata["uid"] = uid
    run_params = [{"name": key, "value": value} for key, value in sorted((params or {}).items())]
    run_params.append({"name": RESERVED_PARAMETER, "value": SAMPLE_TARGET})
    spec: dict[str, Any] = {
        "pipelineRef": {
            "resolver": "bundles",
            "params": [
                {"name": "bundle", "value": bundle},
                {"name": "name", "value": BUNDLE_PIPELINE_NAME},
                {"name": "kind", "value": "pipeline"},
            ],
        },
        "params": run_params,
        "taskRunTemplate": {
            "serviceAccountName": "kubernaut-workflow-runner",
            "podTemplate": {
                "securityContext": {
                    "runAsNonRoot": True,
                    "seccompProfile": {"type": "RuntimeDefault"},
                }
            },
        },
    }
    if timeout is not None:
        spec["timeouts"] = {"pipeline": timeout}
    if workspaces:
        spec["workspaces"] = workspaces
    return {
        "apiVersion": TEKTON_API_VERSION,
        "kind": PIPELINERUN_KIND,
        "metadata": metadata,
        "spec": spec,
    }
