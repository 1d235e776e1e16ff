"""The e2e target: `E2E_TARGET=cluster` (default) starts `kubernaut-wfe sandbox --api cluster` (the
real API server), `E2E_TARGET=sandbox` starts it on the API emulator; `E2E_TARGET=kind` reads the
endpoints `tests/e2e/kind/run.sh` exports (see README.md)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import Any, Literal

import httpx
import pytest

# Helpers live in a sibling module (importlib mode: no absolute path).
from .target import (  # noqa: TID252
    DEFAULT_TARGET,
    TARGETS,
    Target,
    TargetError,
    cluster_unavailable,
    sandbox_target,
    target_from_env,
)


@pytest.fixture(scope="session")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    name = os.environ.get("E2E_TARGET") or DEFAULT_TARGET
    if name not in TARGETS:
        pytest.fail(f"E2E_TARGET must be one of {', '.join(TARGETS)}, not {name!r}")
    if name == "cluster" and (reason := cluster_unavailable()) is not None:
        # Outside CI a machine without Go skips (saying why); in CI that is a failure.
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        if name == "kind":
            yield target_from_env(os.environ)
        else:
            api: Literal["emulator", "cluster"] = "cluster" if name == "cluster" else "emulator"
            with sandbox_target(tmp_path_factory.mktemp(name), api) as started:
                yield started
    except TargetError as error:
        pytest.fail(str(error))


@pytest.fixture(scope="session")
def kube(target: Target) -> Iterator[httpx.Client]:
    with target.kube() as client:
        yield client


@pytest.fixture(scope="session")
def namespace(kube: httpx.Client) -> Iterator[str]:
    """A namespace of this run's own, deleted at the end."""
    name = f"e2e-{secrets.token_hex(4)}"
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    response = kube.post("/api/v1/namespaces", json=body)
    assert response.status_code == 201, response.text
    yield name
    kube.delete(f"/api/v1/namespaces/{name}")


@pytest.fixture
def unique() -> str:
    """A short random suffix: each test has its own WFE names and targets (no lock contention)."""
    return secrets.token_hex(3)


def bundle_repository(bundle: str) -> str:
    """`registry:5000/path/hello-world:v1@sha256:…` → `hello-world` (the test bundle's name)."""
    last = bundle.rsplit("/", 1)[-1]
    return last.split("@", 1)[0].split(":", 1)[0]


def wfe_manifest(
    name: str, namespace: str, bundle: str, parameters: dict[str, str]
) -> dict[str, Any]:
    """A valid WorkflowExecution on target `namespace/deployment/name`."""
    return {
        "apiVersion": "kubernaut.ai/v1alpha1",
        "kind": "WorkflowExecution",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "remediationRequestRef": {
                "apiVersion": "kubernaut.ai/v1alpha1",
                "kind": "RemediationRequest",
                "name": f"rr-{name}",
                "namespace": namespace,
            },
            "workflowRef": {
                "workflowId": bundle_repository(bundle),
                "version": "1.0.0",
                "containerImage": bundle,
            },
            "targetResource": f"{namespace}/deployment/{name}",
            "parameters": parameters,
        },
    }
