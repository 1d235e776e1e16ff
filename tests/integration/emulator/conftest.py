"""Fixtures: an in-process emulator on a free port and an httpx client against it; `api`, the
same client on each of the emulator and the real API server (see `fidelity.py`)."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from kubernaut_wfe_tools.emulator import ApiEmulator
from kubernaut_wfe_tools.testing.testcluster import TestCluster

from .fidelity import PLAIN_HTTP, TARGETS, Api, Target, api_on  # noqa: TID252
from .fidelity import WFE as FIDELITY_WFE  # noqa: TID252

BodyFactory = Callable[..., dict[str, Any]]

WFE: dict[str, Any] = {**FIDELITY_WFE, "metadata": {"name": "wfe-1", "namespace": "default"}}


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
    async with httpx.AsyncClient(base_url=emulator.url, timeout=10, verify=PLAIN_HTTP) as http:
        yield http


@pytest.fixture
def make_wfe() -> BodyFactory:
    """Factory of valid WorkflowExecution bodies: `make_wfe(name, **labels)`."""
    return _wfe


@pytest.fixture
def make_pipelinerun() -> BodyFactory:
    """Factory of minimal PipelineRun bodies: `make_pipelinerun(name, namespace, **labels)`."""
    return _pipelinerun


DIVERGES = "emulator_diverges"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{DIVERGES}(reason): the emulator answers otherwise than the real API server, as "
        "docs/testing.md lists; the test expects the real server's answer and is a strict xfail "
        "on the emulator",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        marker = item.get_closest_marker(DIVERGES)
        callspec = getattr(item, "callspec", None)
        if marker is None or callspec is None or callspec.params.get("target") != "emulator":
            continue
        reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
        item.add_marker(pytest.mark.xfail(strict=True, reason=f"docs/testing.md: {reason}"))


@pytest.fixture(params=TARGETS)
def target(request: pytest.FixtureRequest) -> tuple[Target, TestCluster | None]:
    """Which server a fidelity test runs on; the (session's) cluster is started only for it."""
    name: Target = request.param
    return name, request.getfixturevalue("cluster") if name == "cluster" else None


@pytest.fixture
async def api(target: tuple[Target, TestCluster | None]) -> AsyncIterator[Api]:
    """An admin client on the emulator or the real API server, and a namespace of the test's own
    there: every test using it runs on both and expects the same answers."""
    async with api_on(*target) as started:
        yield started
