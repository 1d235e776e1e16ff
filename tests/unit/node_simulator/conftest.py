"""Fixtures: a node, a start time, the pod of a sample Job, and the Kubernetes 1.36 schemas."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import kubernetes_validate
import pytest

from kubernaut_wfe_tools.node_simulator import PodScenario, read_scenario
from kubernaut_wfe_tools.node_simulator.samples import job_pod, workflow_job

KUBERNETES_VERSION = "1.36.0"

Validate = Callable[[Mapping[str, Any]], None]
MakePod = Callable[..., dict[str, Any]]


MakeScenario = Callable[..., PodScenario]


def _pod(env: Mapping[str, str] | None = None, **job_options: Any) -> dict[str, Any]:
    return job_pod(workflow_job(env=env, **job_options))


@pytest.fixture
def make_pod() -> MakePod:
    """`make_pod(env, **workflow_job options)`: the pod the Job controller creates for that
    Job (its container's environment is `env`)."""
    return _pod


@pytest.fixture
def scenario_of() -> MakeScenario:
    """`scenario_of(env, **workflow_job options)`: the scenario of `make_pod`'s pod."""

    def make(env: Mapping[str, str] | None = None, **job_options: Any) -> PodScenario:
        return read_scenario(_pod(env, **job_options))

    return make


@pytest.fixture
def validate() -> Validate:
    """Raise (naming the field) unless the object fits Kubernetes 1.36's schema, strictly: an
    unknown field fails, as a typo would be silently dropped by the API server."""

    def check(document: Mapping[str, Any]) -> None:
        try:
            kubernetes_validate.validate(dict(document), KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = "/".join(str(part) for part in error.path)
            pytest.fail(f"{document.get('kind')} invalid at {path}: {error.message}")

    return check
