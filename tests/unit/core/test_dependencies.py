"""A catalog snapshot's `dependencies` on Tekton (platform contract 2026-08 §4): the workspaces the
run binds, and a missing Secret or ConfigMap ending the WFE `ConfigurationError`, decided on the
documents the Tekton simulator writes for the run this controller builds."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import pytest

from kubernaut_wfe.constants import AuditEventType, EventReason, FailureReason, Phase
from kubernaut_wfe.core.actions import CancelRun, Decision
from kubernaut_wfe.core.audit import undelivered_audit_events
from kubernaut_wfe.core.config import load_config
from kubernaut_wfe.core.decisions import decide
from kubernaut_wfe.core.observation import Observation
from kubernaut_wfe.core.pipelinerun import build_pipelinerun
from kubernaut_wfe.core.record import record_of_run
from kubernaut_wfe.core.validation import parse_wfe
from kubernaut_wfe_tools.tekton_simulator.scenario import (
    Dependency,
    read_scenario,
    with_missing_dependencies,
)
from kubernaut_wfe_tools.tekton_simulator.timeline import (
    DEFAULT_PACING,
    Write,
    WriteKind,
    build_timeline,
)

from .conftest import NOW, make_wfe_raw  # noqa: TID252

CONFIG = load_config(None)
NS = CONFIG.execution.namespace
HELLO_WORLD = "quay.io/kubernaut/workflows/hello-world:v1"
STARTED = "2025-06-01T10:00:00Z"
DEPENDENCIES = {"secrets": [{"name": "db-credentials"}], "configMaps": [{"name": "app-settings"}]}
SECRET = Dependency("secret-db-credentials", "Secret", "db-credentials")
SETTINGS = Dependency("configmap-app-settings", "ConfigMap", "app-settings")


def catalog_wfe(dependencies: Any = None) -> dict[str, Any]:
    raw = make_wfe_raw()
    ref = raw["spec"]["workflowRef"]
    del ref["containerImage"]
    ref.update(workflowName="hello-world", actionType="RestartPod", executionBundle=HELLO_WORLD)
    if dependencies is not None:
        ref["dependencies"] = dependencies
    return raw


def _workspaces(dependencies: Any) -> Any:
    run = build_pipelinerun(parse_wfe(catalog_wfe(dependencies)), CONFIG, now=NOW)
    return run["spec"].get("workspaces")


@pytest.mark.parametrize(
    ("dependencies", "bindings"),
    [
        (
            {"secrets": [{"name": "db-credentials"}]},
            [{"name": "secret-db-credentials", "secret": {"secretName": "db-credentials"}}],
        ),
        (
            {"configMaps": [{"name": "app-settings"}]},
            [{"name": "configmap-app-settings", "configMap": {"name": "app-settings"}}],
        ),
        (
            {
                "configMaps": [{"name": "z-flags"}, {"name": "app-settings"}],
                "secrets": [{"name": "db-credentials"}, {"name": "db-credentials"}],
            },
            [
                {"name": "secret-db-credentials", "secret": {"secretName": "db-credentials"}},
                {"name": "configmap-app-settings", "configMap": {"name": "app-settings"}},
                {"name": "configmap-z-flags", "configMap": {"name": "z-flags"}},
            ],
        ),
    ],
    ids=["secrets", "config-maps", "both-sorted-without-repeats"],
)
def test_each_dependency_is_bound_as_a_workspace(dependencies: Any, bindings: Any) -> None:
    assert _workspaces(dependencies) == bindings


@pytest.mark.parametrize("dependencies", [None, {}, {"secrets": [], "configMaps": []}])
def test_no_dependencies_no_workspaces(dependencies: Any) -> None:
    assert _workspaces(dependencies) is None


def test_a_january_run_has_no_workspaces() -> None:
    run = build_pipelinerun(parse_wfe(make_wfe_raw()), CONFIG, now=NOW)
    assert "workspaces" not in run["spec"]


# --- the run played by the Tekton simulator ----------------------------------------------------


def _our_run(raw: dict[str, Any]) -> dict[str, Any]:
    """The run this controller builds for `raw`, as the API server stored it."""
    run = copy.deepcopy(build_pipelinerun(parse_wfe(raw), CONFIG, now=NOW))
    run["metadata"].update(uid="0b6c5c1e-pr-uid", resourceVersion="42", creationTimestamp=STARTED)
    return run


def _running_wfe(raw: dict[str, Any], run: dict[str, Any]) -> dict[str, Any]:
    raw["metadata"]["annotations"] = record_of_run(run).annotation()
    raw["status"] = {
        "phase": "Running",
        "startTime": STARTED,
        "pipelineRunRef": {"name": run["metadata"]["name"]},
        "pipelineRunStatus": {"status": "Unknown", "reason": "Running"},
    }
    return raw


def _played(
    run: dict[str, Any], missing: Iterable[Dependency]
) -> list[tuple[Write, dict[str, Any], dict[str, Any] | None]]:
    """Each simulator write with the PipelineRun and the TaskRun as they are after it."""
    scenario = read_scenario(run, start_lag=DEFAULT_PACING.pod_start)
    scenario = with_missing_dependencies(scenario, missing)
    pipelinerun, taskrun = copy.deepcopy(run), None
    states = []
    for write in build_timeline(scenario, NOW):
        document = copy.deepcopy(dict(write.document))
        if write.kind is WriteKind.PIPELINERUN_LABELS:
            pipelinerun["metadata"]["labels"].update(document)
        elif write.kind is WriteKind.PIPELINERUN_STATUS:
            pipelinerun["status"] = document
        elif write.kind is WriteKind.TASKRUN_CREATE:
            taskrun = document
        elif taskrun is not None and write.kind is WriteKind.TASKRUN_STATUS:
            taskrun["status"] = document
        states.append((write, copy.deepcopy(pipelinerun), copy.deepcopy(taskrun)))
    return states


def _reason(document: dict[str, Any] | None) -> str:
    return str(((document or {}).get("status") or {}).get("conditions", [{}])[0].get("reason"))


def _taskrun_failed_run_going(
    raw: dict[str, Any], missing: Iterable[Dependency]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The moment the TaskRun failed `CreateContainerConfigError` and Tekton has not yet
    reconciled the run: the run still `Running`."""
    states = _played(_our_run(raw), missing)
    index = next(
        i for i, (_, _, t) in enumerate(states) if _reason(t) == "CreateContainerConfigError"
    )
    _, pipelinerun, taskrun = states[index]
    assert _reason(pipelinerun) == "Running"
    assert taskrun is not None
    return pipelinerun, taskrun


def _assert_failed_naming(decision: Decision, raw: dict[str, Any], *named: str) -> None:
    status = decision.status
    assert status is not None
    assert status.phase == Phase.FAILED
    details = status.failure_details
    assert details is not None
    assert details.reason == FailureReason.CONFIGURATION_ERROR
    assert status.failure_reason == FailureReason.CONFIGURATION_ERROR
    assert details.was_execution_failure is False
    assert details.failed_task_name == "hello"
    assert details.exit_code is None
    for text in named:
        assert text in details.message
        assert text in details.natural_language_summary
    assert f"namespace {NS}" in details.message
    assert [e.reason for e in decision.events] == [
        EventReason.WORKFLOW_FAILED,
        EventReason.PHASE_TRANSITION,
    ]
    assert "ConfigurationError" in decision.events[0].message
    wfe = parse_wfe({**raw, "status": status.to_api()})
    owed = [due.event_type for due in undelivered_audit_events(wfe)]
    assert AuditEventType.WORKFLOW_FAILED in owed


def test_a_child_that_cannot_be_configured_cancels_the_run_first() -> None:
    raw = catalog_wfe(DEPENDENCIES)
    pipelinerun, taskrun = _taskrun_failed_run_going(raw, [SECRET])
    wfe = _running_wfe(raw, _our_run(raw))
    decision = decide(wfe, Observation(run=pipelinerun, taskruns=[taskrun]), CONFIG, NOW)
    assert decision.status is None
    assert decision.actions == (CancelRun(NS, pipelinerun["metadata"]["name"]),)


def test_once_cancelled_the_wfe_fails_at_once_naming_the_missing_secret() -> None:
    raw = catalog_wfe(DEPENDENCIES)
    pipelinerun, taskrun = _taskrun_failed_run_going(raw, [SECRET])
    pipelinerun["spec"]["status"] = "Cancelled"  # the answer to the cancel request
    wfe = _running_wfe(raw, _our_run(raw))
    decision = decide(wfe, Observation(run=pipelinerun, taskruns=[taskrun]), CONFIG, NOW)
    assert decision.actions == ()
    _assert_failed_naming(decision, wfe, 'Secret "db-credentials" not found')
    status = decision.status
    assert status is not None
    assert status.completion_time == NOW


def test_after_the_run_failed_the_wfe_fails_naming_the_missing_config_map() -> None:
    raw = catalog_wfe(DEPENDENCIES)
    run = _our_run(raw)
    _, pipelinerun, taskrun = _played(run, [SETTINGS])[-1]
    assert _reason(pipelinerun) == "Failed"
    assert taskrun is not None
    wfe = _running_wfe(raw, run)
    decision = decide(wfe, Observation(run=pipelinerun, taskruns=[taskrun]), CONFIG, NOW)
    assert not any(isinstance(action, CancelRun) for action in decision.actions)
    _assert_failed_naming(decision, wfe, 'ConfigMap "app-settings" not found')


def test_a_pending_child_is_waited_for() -> None:
    raw = catalog_wfe(DEPENDENCIES)
    run = _our_run(raw)
    states = _played(run, [SECRET])
    _, pipelinerun, taskrun = next(s for s in states if _reason(s[2]) == "Pending")
    assert taskrun is not None
    decision = decide(
        _running_wfe(raw, run), Observation(run=pipelinerun, taskruns=[taskrun]), CONFIG, NOW
    )
    assert decision.actions == ()
    assert decision.status is not None
    assert decision.status.phase == Phase.RUNNING


@pytest.mark.parametrize(
    ("kubelet", "named"),
    [
        (
            "couldn't find key token in Secret kubernaut-workflows/db-credentials",
            ['Secret "db-credentials" has no key token'],
        ),
        (
            'failed to create subPath directory for volumeMount "ws-x" of container "step-echo"',
            [
                "may be missing from namespace",
                'Secret "db-credentials"',
                'ConfigMap "app-settings"',
            ],
        ),
    ],
    ids=["a-missing-key", "no-object-named"],
)
def test_the_message_names_what_the_kubelet_names_else_the_runs_dependencies(
    kubelet: str, named: list[str]
) -> None:
    raw = catalog_wfe(DEPENDENCIES)
    pipelinerun, taskrun = _taskrun_failed_run_going(raw, [SECRET])
    pipelinerun["spec"]["status"] = "Cancelled"
    taskrun["status"]["steps"][0]["waiting"]["message"] = kubelet
    wfe = _running_wfe(raw, _our_run(raw))
    decision = decide(wfe, Observation(run=pipelinerun, taskruns=[taskrun]), CONFIG, NOW)
    _assert_failed_naming(decision, wfe, *named)
