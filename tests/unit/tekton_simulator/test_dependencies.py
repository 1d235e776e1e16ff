"""A run whose bound Secret or ConfigMap is missing: what Tekton v1.7 writes (tekton-status.md §2,
"Other TaskRun states") with the kubelet's text on the waiting step, and which bindings count."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest

from kubernaut_wfe_tools.tekton_simulator.samples import (
    FAILING_BUNDLE,
    HELLO_WORLD_BUNDLE,
    sample_pipelinerun,
)
from kubernaut_wfe_tools.tekton_simulator.scenario import (
    HELLO_WORLD_WORKSPACES,
    Dependency,
    Outcome,
    Scenario,
    read_scenario,
    with_missing_dependencies,
)
from kubernaut_wfe_tools.tekton_simulator.timeline import (
    DEFAULT_PACING,
    Write,
    WriteKind,
    build_timeline,
)

T0 = datetime(2025, 6, 1, 10, 0, 0, tzinfo=UTC)
PR = "wfe-f3457dcc8fbcb6d9"
TR = f"{PR}-hello"
SECRET = Dependency("secret-db-credentials", "Secret", "db-credentials")
SETTINGS = Dependency("configmap-app-settings", "ConfigMap", "app-settings")
BINDINGS = [
    {"name": "secret-db-credentials", "secret": {"secretName": "db-credentials"}},
    {"name": "configmap-app-settings", "configMap": {"name": "app-settings"}},
    {"name": "secret-not-declared", "secret": {"secretName": "elsewhere"}},
]
Replay = Callable[[Mapping[str, Any], Iterable[Write]], list[tuple[Write, dict[str, Any]]]]
Validate = Callable[[Mapping[str, Any]], None]


def _run(bundle: str = HELLO_WORLD_BUNDLE, **params: str) -> dict[str, Any]:
    return sample_pipelinerun(bundle=bundle, params=params, workspaces=BINDINGS)


def _scenario(run: Mapping[str, Any], missing: Iterable[Dependency] = ()) -> Scenario:
    scenario = read_scenario(run, start_lag=DEFAULT_PACING.pod_start)
    return with_missing_dependencies(scenario, missing)


def _condition(document: Mapping[str, Any]) -> tuple[str, str, str]:
    (condition,) = document["conditions"]
    return condition["status"], condition["reason"], condition["message"]


def test_only_bindings_of_workspaces_the_pipeline_declares_count() -> None:
    scenario = _scenario(_run())
    assert scenario.workspaces == HELLO_WORLD_WORKSPACES
    assert scenario.dependencies == (SECRET, SETTINGS)
    assert (
        read_scenario(_run(FAILING_BUNDLE), start_lag=DEFAULT_PACING.pod_start).dependencies == ()
    )
    unbound = read_scenario(sample_pipelinerun(), start_lag=DEFAULT_PACING.pod_start)
    assert (unbound.workspaces, unbound.dependencies) == (HELLO_WORLD_WORKSPACES, ())


@pytest.mark.parametrize(
    ("run", "missing", "outcome"),
    [
        (_run(), [SECRET], Outcome.MISSING_DEPENDENCY),
        (_run(), [], Outcome.SUCCEED),
        (_run(), [Dependency("secret-not-declared", "Secret", "elsewhere")], Outcome.SUCCEED),
        (_run(FAILING_BUNDLE), [SECRET], Outcome.EXIT),
        (_run(FAILING_BUNDLE, FAILURE_MODE="missingdependency"), [], Outcome.EXIT),
    ],
)
def test_a_missing_bound_object_is_the_outcome(
    run: dict[str, Any], missing: list[Dependency], outcome: Outcome
) -> None:
    assert _scenario(run, missing).outcome is outcome


def test_the_taskrun_fails_and_then_the_run_fails_at_once() -> None:
    writes = build_timeline(_scenario(_run(), [SETTINGS, SECRET]), T0)
    observed = [
        (w.kind, _condition(w.document)[:2] if "conditions" in w.document else None, w.due - T0)
        for w in writes[-2:]
    ]
    two = DEFAULT_PACING.resolution + DEFAULT_PACING.pod_start
    assert observed == [
        (WriteKind.TASKRUN_STATUS, ("False", "CreateContainerConfigError"), two),
        (WriteKind.PIPELINERUN_STATUS, ("False", "Failed"), two),
    ]
    taskrun, pipelinerun = writes[-2].document, writes[-1].document
    assert _condition(taskrun)[2] == "Failed to create pod due to config error"
    assert "completionTime" not in taskrun
    assert taskrun["podName"] == f"{TR}-pod"
    assert taskrun["startTime"] == "2025-06-01T10:00:01Z"
    # The first missing object in the run's order is the one the kubelet names.
    assert taskrun["steps"] == [
        {
            "name": "echo",
            "container": "step-echo",
            "waiting": {
                "reason": "CreateContainerConfigError",
                "message": 'secret "db-credentials" not found',
            },
        }
    ]
    assert _condition(pipelinerun)[2] == "Tasks Completed: 1 (Failed: 1, Cancelled 0), Skipped: 0"
    assert pipelinerun["completionTime"] == "2025-06-01T10:00:02Z"


def test_a_missing_config_map_is_named_as_the_kubelet_names_it() -> None:
    writes = build_timeline(_scenario(_run(), [SETTINGS]), T0)
    taskrun = next(w.document for w in reversed(writes) if w.kind is WriteKind.TASKRUN_STATUS)
    assert taskrun["steps"][0]["waiting"]["message"] == 'configmap "app-settings" not found'


def test_bound_workspaces_reach_the_taskrun_and_the_pipeline_declares_all() -> None:
    writes = build_timeline(_scenario(_run(), [SECRET]), T0)
    (created,) = [w.document for w in writes if w.kind is WriteKind.TASKRUN_CREATE]
    assert created["spec"]["workspaces"] == BINDINGS[:2]
    declared = [{"name": n, "optional": True, "readOnly": True} for n in HELLO_WORLD_WORKSPACES]
    assert created["spec"]["taskSpec"]["workspaces"] == declared
    running = next(
        w.document
        for w in writes
        if w.kind is WriteKind.PIPELINERUN_STATUS and "pipelineSpec" in w.document
    )
    spec = running["pipelineSpec"]
    assert spec["workspaces"] == [{"name": n, "optional": True} for n in HELLO_WORLD_WORKSPACES]
    assert spec["tasks"][0]["workspaces"] == [
        {"name": n, "workspace": n} for n in HELLO_WORLD_WORKSPACES
    ]


def test_a_run_without_bindings_gives_its_taskrun_none() -> None:
    scenario = read_scenario(sample_pipelinerun(), start_lag=DEFAULT_PACING.pod_start)
    writes = build_timeline(scenario, T0)
    (created,) = [w.document for w in writes if w.kind is WriteKind.TASKRUN_CREATE]
    assert "workspaces" not in created["spec"]


def test_every_written_object_fits_the_tekton_crd(
    crd_validators: dict[str, Validate], replayer: Replay
) -> None:
    run = _run()
    for write, obj in replayer(run, build_timeline(_scenario(run, [SECRET]), T0)):
        try:
            crd_validators[obj["kind"]](obj)
        except jsonschema.ValidationError as error:  # pragma: no cover - the failure message
            pytest.fail(f"{write.kind} {obj['kind']} invalid at {error.json_path}: {error.message}")
