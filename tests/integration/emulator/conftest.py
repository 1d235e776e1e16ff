"""Fixtures: an in-process emulator on a free port and an httpx client against it."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from kubernaut_wfe.emulator import ApiEmulator

BodyFactory = Callable[..., dict[str, Any]]

WFE: dict[str, Any] = {
    "apiVersion": "kubernaut.ai/v1alpha1",
    "kind": "WorkflowExecution",
    "metadata": {"name": "wfe-1", "namespace": "default"},
    "spec": {
        "remediationRequestRef": {"name": "rr-1"},
        "workflowRef": {
            "workflowId": "hello-world",
            "version": "1.0.0",
            "containerImage": "quay.io/kubernaut/workflows/hello-world:v1",
        },
        "targetResource": "default/deployment/nginx",
    },
}


def _wfe(name: str = "wfe-1", **labels: str) -> dict[str, Any]:
    """A valid WorkflowExecution body."""
    body = copy.deepcopy(WFE)
    body["metadata"]["name"] = name
    if labels:
        body["metadata"]["labels"] = dict(labels)
    return body


def _pipelinerun(name: str, namespace: str = "default", **labels: str) -> dict[str, Any]:
    """A minimal PipelineRun body."""
    return {
        "apiVersion": "tekton.dev/v1",
        "kind": "PipelineRun",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {"pipelineRef": {"resolver": "bundles", "params": []}},
    }


@pytest.fixture
async def emulator() -> AsyncIterator[ApiEmulator]:
    """A served emulator with the default CRDs."""
    emu = ApiEmulator()
    async with emu.serving():
        yield emu


@pytest.fixture
async def client(emulator: ApiEmulator) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the emulator."""
    async with httpx.AsyncClient(base_url=emulator.url, timeout=10) as http:
        yield http


@pytest.fixture
def make_wfe() -> BodyFactory:
    """Factory of valid WorkflowExecution bodies: `make_wfe(name, **labels)`."""
    return _wfe


@pytest.fixture
def make_pipelinerun() -> BodyFactory:
    """Factory of minimal PipelineRun bodies: `make_pipelinerun(name, namespace, **labels)`."""
    return _pipelinerun
