"""URL paths of collections, objects and subresources."""

from __future__ import annotations

import pytest

from kubernaut_wfe.adapters.kube_resources import (
    CUSTOM_RESOURCE_DEFINITIONS,
    EVENTS,
    LEASES,
    PIPELINE_RUNS,
    TASK_RUNS,
    WORKFLOW_EXECUTIONS,
    Resource,
)


@pytest.mark.parametrize(
    ("resource", "namespace", "name", "subresource", "path"),
    [
        (
            WORKFLOW_EXECUTIONS,
            "ns",
            "w1",
            "status",
            "/apis/kubernaut.ai/v1alpha1/namespaces/ns/workflowexecutions/w1/status",
        ),
        (WORKFLOW_EXECUTIONS, None, None, None, "/apis/kubernaut.ai/v1alpha1/workflowexecutions"),
        (
            PIPELINE_RUNS,
            "kubernaut-workflows",
            "wfe-abc",
            None,
            "/apis/tekton.dev/v1/namespaces/kubernaut-workflows/pipelineruns/wfe-abc",
        ),
        (TASK_RUNS, "ns", None, None, "/apis/tekton.dev/v1/namespaces/ns/taskruns"),
        (EVENTS, "ns", None, None, "/api/v1/namespaces/ns/events"),
        (LEASES, "ns", "lead", None, "/apis/coordination.k8s.io/v1/namespaces/ns/leases/lead"),
        (
            CUSTOM_RESOURCE_DEFINITIONS,
            None,
            "workflowexecutions.kubernaut.ai",
            None,
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/workflowexecutions.kubernaut.ai",
        ),
        (EVENTS, "ns", "a/b c", None, "/api/v1/namespaces/ns/events/a%2Fb%20c"),
    ],
)
def test_paths(
    resource: Resource,
    namespace: str | None,
    name: str | None,
    subresource: str | None,
    path: str,
) -> None:
    assert resource.path(namespace, name, subresource) == path


def test_api_versions() -> None:
    assert WORKFLOW_EXECUTIONS.api_version == "kubernaut.ai/v1alpha1"
    assert EVENTS.api_version == "v1"
    assert PIPELINE_RUNS.kind == "PipelineRun"


@pytest.mark.parametrize(
    ("resource", "namespace", "name", "subresource", "message"),
    [
        (PIPELINE_RUNS, None, "x", None, "namespaced: a namespace is required"),
        (CUSTOM_RESOURCE_DEFINITIONS, "ns", "x", None, "cluster-scoped"),
        (PIPELINE_RUNS, "ns", None, "status", "subresource needs an object name"),
        (PIPELINE_RUNS, "ns", "", None, "invalid name"),
        (PIPELINE_RUNS, "ns", "..", None, "invalid name"),
        (PIPELINE_RUNS, "", "x", None, "invalid namespace"),
    ],
)
def test_impossible_paths_are_refused(
    resource: Resource,
    namespace: str | None,
    name: str | None,
    subresource: str | None,
    message: str,
) -> None:
    with pytest.raises(ValueError, match=message):
        resource.path(namespace, name, subresource)
