"""A catalog snapshot's dependencies (platform contract 2026-08 §4) on the real API server with the
Tekton simulator, which plays the kubelet too: bound as workspaces, a run whose Secret and
ConfigMap exist completes; one whose Secret is missing ends Failed `ConfigurationError` naming it,
and its run does not go on. The controller reads neither Secrets nor ConfigMaps."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from kubernaut_wfe.constants import FailureReason
from kubernaut_wfe_tools.testing.catalog_fixtures import catalog_variant
from kubernaut_wfe_tools.testing.stack import EXECUTION_NAMESPACE

from .conftest import Stack  # noqa: TID252

pytestmark = pytest.mark.timeout(120)

CORE = f"/api/v1/namespaces/{EXECUTION_NAMESPACE}"
SECRET = "db-credentials"
CONFIG_MAP = "app-settings"
"""Names the hello-world workflow's Pipeline declares workspaces for (`secret-<name>`,
`configmap-<name>`): Tekton ignores the bindings of any other."""
DEPENDENCIES = {"secrets": [{"name": SECRET}], "configMaps": [{"name": CONFIG_MAP}]}


async def _delete(stack: Stack, path: str) -> None:
    answer = await stack.client.delete(path)
    assert answer.status_code in {200, 404}, answer.text
    await stack.wait_gone(path, what=path)


@pytest.fixture
async def dependencies_absent(stack: Stack) -> AsyncIterator[None]:
    """Neither object in the execution namespace, before the test and after it (the real
    server's namespaces are shared by the session's tests and only emptied of runs and WFEs)."""
    paths = [f"{CORE}/secrets/{SECRET}", f"{CORE}/configmaps/{CONFIG_MAP}"]
    for path in paths:
        await _delete(stack, path)
    yield
    for path in paths:
        await _delete(stack, path)


async def _put(stack: Stack, plural: str, body: dict[str, Any]) -> None:
    answer = await stack.client.post(f"{CORE}/{plural}", json=body)
    assert answer.status_code == 201, answer.text


async def _put_config_map(stack: Stack) -> None:
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": CONFIG_MAP},
        "data": {"a": "b"},
    }
    await _put(stack, "configmaps", body)


def _with_dependencies(name: str) -> dict[str, Any]:
    changes = {
        "workflowRef.dependencies": DEPENDENCIES,
        "targetResource": f"default/deployment/{name}",
    }
    return catalog_variant(changes, name=name)


def _succeeded(run: dict[str, Any]) -> dict[str, Any]:
    (condition,) = run["status"]["conditions"]
    return dict(condition)


@pytest.mark.usefixtures("dependencies_absent")
async def test_dependencies_that_exist_reach_the_run_which_completes(stack: Stack) -> None:
    await _put(
        stack,
        "secrets",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": SECRET},
            "stringData": {"password": "x"},
        },
    )
    await _put_config_map(stack)
    await stack.start_controller()
    await stack.create(_with_dependencies("we-rr-deps-present"))
    done = await stack.wait_phase("we-rr-deps-present", "Completed")
    run = await stack.run(done["status"]["pipelineRunRef"]["name"])
    assert run is not None
    assert run["spec"]["workspaces"] == [
        {"name": f"secret-{SECRET}", "secret": {"secretName": SECRET}},
        {"name": f"configmap-{CONFIG_MAP}", "configMap": {"name": CONFIG_MAP}},
    ]
    assert stack.requests.filter(resource="secrets") == []
    # The only ConfigMaps it reads are its own audit spool's, in its own namespace.
    reads = stack.requests.filter(resource="configmaps")
    assert all(
        read.namespace != EXECUTION_NAMESPACE
        and "audit-spool" in read.query.get("labelSelector", "")
        for read in reads
    ), reads


@pytest.mark.usefixtures("dependencies_absent")
async def test_a_missing_secret_fails_the_wfe_naming_it_and_its_run_stops(stack: Stack) -> None:
    await _put_config_map(stack)
    await stack.start_controller()
    await stack.create(_with_dependencies("we-rr-deps-missing"))
    failed = await stack.wait_phase("we-rr-deps-missing", "Failed")
    details = failed["status"]["failureDetails"]
    assert failed["status"]["failureReason"] == FailureReason.CONFIGURATION_ERROR
    assert details["reason"] == FailureReason.CONFIGURATION_ERROR
    assert f'Secret "{SECRET}" not found in namespace {EXECUTION_NAMESPACE}' in details["message"]
    assert details["wasExecutionFailure"] is False
    assert failed["status"]["completionTime"]
    name = failed["status"]["pipelineRunRef"]["name"]

    async def stopped() -> dict[str, Any] | None:
        run = await stack.run(name)
        return run if run is not None and _succeeded(run)["status"] == "False" else None

    run = await stack.wait_for(stopped, what="the run to end")
    # Tekton fails it once its TaskRun failed, or ends it Cancelled if the controller's cancel
    # came first: either way it no longer holds a pod waiting for the Secret.
    assert _succeeded(run)["reason"] in {"Failed", "Cancelled"}
    assert stack.requests.filter(resource="secrets") == []
