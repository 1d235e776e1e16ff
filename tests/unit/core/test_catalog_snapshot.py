"""The catalog-snapshot WorkflowExecution of the August 2026 contract (platform contract §1-§3,
§9) next to the January one: validation, engines, parameter filtering, the run built for it."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubernaut_wfe.constants import (
    RESERVED_PARAMETER,
    ConditionType,
    EventReason,
    EventType,
    FailureReason,
    Phase,
)
from kubernaut_wfe.core.actions import CreateRun
from kubernaut_wfe.core.config import load_config
from kubernaut_wfe.core.decisions import decide
from kubernaut_wfe.core.engines import refusal
from kubernaut_wfe.core.observation import Created, Observation
from kubernaut_wfe.core.parameters import run_parameters
from kubernaut_wfe.core.pipelinerun import build_pipelinerun
from kubernaut_wfe.core.record import record_of_run
from kubernaut_wfe.core.validation import (
    ONE_REFERENCE,
    configured_problems,
    parse_wfe,
    validate_wfe,
)

from .conftest import NOW, make_wfe_raw  # noqa: TID252

CONFIG = load_config(None)
BUNDLE = "quay.io/kubernaut/workflows/restart:v2"
DIGEST = "sha256:" + "a" * 64


def catalog_wfe(**workflow_ref: Any) -> dict[str, Any]:
    raw = make_wfe_raw()
    ref = raw["spec"]["workflowRef"]
    del ref["containerImage"]
    ref.update(
        {
            "workflowName": "restart-deployment",
            "actionType": "RestartPod",
            "executionBundle": BUNDLE,
            "executionBundleDigest": DIGEST,
            "executionEngine": "tekton",
            **workflow_ref,
        }
    )
    for key, value in list(ref.items()):
        if value is None:
            del ref[key]
    return raw


def _fields(raw: dict[str, Any]) -> list[str]:
    return [problem.field for problem in validate_wfe(raw)]


def test_a_catalog_snapshot_is_valid_and_runs_its_bundle_verbatim() -> None:
    raw = catalog_wfe(
        engineConfig={"anything": [1, {"nested": True}]},
        dependencies={"secrets": [{"name": "db-creds"}], "configMaps": [{"name": "settings"}]},
        resources={"limits": {"memory": "128Mi", "cpu": 1}},
    )
    raw["spec"]["timesOutAt"] = "2025-06-01T11:00:00Z"
    assert validate_wfe(raw) == []
    run = build_pipelinerun(parse_wfe(raw), CONFIG, now=NOW)
    bundle = run["spec"]["pipelineRef"]["params"][0]
    # executionBundleDigest is recorded by the catalog, never used to pin (contract §1).
    assert bundle == {"name": "bundle", "value": BUNDLE}


@pytest.mark.parametrize("engine", [None, "", "tekton"])
def test_absent_or_empty_engine_means_tekton(engine: str | None) -> None:
    raw = catalog_wfe(executionEngine=engine)
    if engine == "":
        raw["spec"]["workflowRef"]["executionEngine"] = ""
    assert refusal(parse_wfe(raw).spec) is None
    decision = decide(raw, Observation(run=None), CONFIG, NOW)
    assert isinstance(decision.actions[0], CreateRun)


def test_an_engine_this_controller_does_not_run_fails_before_anything_is_created() -> None:
    engine = "ansible"
    decision = decide(catalog_wfe(executionEngine=engine), Observation(run=None), CONFIG, NOW)
    assert not any(isinstance(action, CreateRun) for action in decision.actions)
    status = decision.status
    assert status is not None
    assert status.failure_details is not None
    assert status.phase == Phase.FAILED
    assert status.failure_details.reason == FailureReason.UNSUPPORTED_ENGINE
    assert status.failure_reason == "UnsupportedEngine"
    assert status.failure_details.was_execution_failure is False
    assert f'"{engine}"' in status.failure_details.message
    assert "runs job, tekton" in status.failure_details.message


def test_a_remote_cluster_is_a_configuration_error() -> None:
    raw = catalog_wfe()
    raw["spec"]["clusterID"] = "spoke-1"
    decision = decide(raw, Observation(run=None), CONFIG, NOW)
    status = decision.status
    assert status is not None
    assert status.failure_details is not None
    assert status.failure_details.reason == FailureReason.CONFIGURATION_ERROR
    assert "spec.clusterID" in status.failure_details.message
    assert not any(isinstance(action, CreateRun) for action in decision.actions)


def test_the_january_shape_may_name_an_engine_too() -> None:
    raw = make_wfe_raw()
    raw["spec"]["workflowRef"]["executionEngine"] = "ansible"
    assert refusal(parse_wfe(raw).spec) == (
        FailureReason.UNSUPPORTED_ENGINE,
        'execution engine "ansible" is not available: this controller runs job, tekton',
    )


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"containerImage": "quay.io/acme/x:v1"}, "spec.workflowRef", ONE_REFERENCE),
        ({"executionBundle": None}, "spec.workflowRef", ONE_REFERENCE),
        ({"workflowName": None}, "spec.workflowRef.workflowName", "is required"),
        ({"actionType": ""}, "spec.workflowRef.actionType", "must not be empty"),
        ({"containerDigest": DIGEST}, "spec.workflowRef.containerDigest", "executionBundleDigest"),
        ({"executionBundle": "Not An Image"}, "spec.workflowRef.executionBundle", "OCI image"),
        ({"executionEngine": "argo"}, "spec.workflowRef.executionEngine", "ansible, job, tekton"),
        ({"serviceAccountName": "Bad SA"}, "spec.workflowRef.serviceAccountName", "account name"),
        (
            {"dependencies": {"secrets": [{"name": "UPPER"}]}},
            "spec.workflowRef.dependencies.secrets[0].name",
            "object name",
        ),
        (
            {"dependencies": {"configMaps": [{}]}},
            "spec.workflowRef.dependencies.configMaps[0].name",
            "is required",
        ),
        (
            {"declaredParameterNames": {"REPLICAS": "yes"}},
            "spec.workflowRef.declaredParameterNames.REPLICAS",
            "true or false",
        ),
        ({"resources": "big"}, "spec.workflowRef.resources", "must be an object"),
    ],
)
def test_each_catalog_rule_names_the_field(
    change: dict[str, Any], field: str, fragment: str
) -> None:
    problems = validate_wfe(catalog_wfe(**change))
    assert any(p.field == field and fragment in p.message for p in problems), problems


def test_a_deadline_must_be_a_time() -> None:
    raw = catalog_wfe()
    raw["spec"]["timesOutAt"] = "tomorrow"
    assert _fields(raw) == ["spec.timesOutAt"]


@pytest.mark.parametrize(
    ("declared", "passed"),
    [
        (None, {"DELAY_SECONDS": "2", "REPLICAS": "3"}),
        ({}, {}),
        ({"REPLICAS": True}, {"REPLICAS": "3"}),
        ({"REPLICAS": True, "DELAY_SECONDS": False}, {"REPLICAS": "3"}),
        ({"REPLICAS": True, "UNUSED": True}, {"REPLICAS": "3"}),
    ],
)
def test_declared_parameter_names_filter_what_the_run_receives(
    declared: dict[str, bool] | None, passed: dict[str, str]
) -> None:
    raw = catalog_wfe()
    raw["spec"]["workflowRef"]["declaredParameterNames"] = declared
    wfe = parse_wfe(raw)
    assert run_parameters(wfe.spec).passed == passed
    params = build_pipelinerun(wfe, CONFIG, now=NOW)["spec"]["params"]
    # TARGET_RESOURCE is the controller's own: never filtered.
    assert {p["name"]: p["value"] for p in params} == {
        **passed,
        RESERVED_PARAMETER: "default/deployment/nginx",
    }


def test_the_names_left_out_are_in_an_event_and_a_log_line_never_their_values() -> None:
    raw = catalog_wfe(declaredParameterNames={"REPLICAS": True})
    raw["spec"]["parameters"] = {"REPLICAS": "3", "API_TOKEN": "s3cr3t-value"}
    wfe = parse_wfe(raw)
    run = copy.deepcopy(build_pipelinerun(wfe, CONFIG, now=NOW))
    run["metadata"].update({"uid": "run-uid", "creationTimestamp": "2025-06-01T10:01:00Z"})
    raw["metadata"]["annotations"] = record_of_run(run).annotation()
    decision = decide(raw, Observation(create=Created(run)), CONFIG, NOW)
    assert decision.status is not None
    assert decision.status.phase == Phase.RUNNING
    [stripped] = [e for e in decision.events if e.reason == EventReason.PARAMETERS_STRIPPED]
    assert "API_TOKEN" in stripped.message
    assert decision.notes == (stripped.message,)
    texts = [e.message for e in decision.events] + list(decision.notes)
    assert not any("s3cr3t-value" in text for text in texts)


def test_the_create_is_told_in_the_newest_vocabulary_and_nothing_was_left_out() -> None:
    raw = catalog_wfe()
    wfe = parse_wfe(raw)
    run = build_pipelinerun(wfe, CONFIG, now=NOW)
    run["metadata"].update({"uid": "run-uid", "creationTimestamp": "2025-06-01T10:01:00Z"})
    raw["metadata"]["annotations"] = record_of_run(run).annotation()
    decision = decide(raw, Observation(create=Created(run)), CONFIG, NOW)
    assert [(e.reason, e.type, e.message) for e in decision.events] == [
        (
            EventReason.WORKFLOW_VALIDATED,
            EventType.NORMAL,
            "Workflow spec validated: restart (target: default/deployment/nginx)",
        ),
        (
            EventReason.EXECUTION_CREATED,
            EventType.NORMAL,
            f"Created tekton execution resource {run['metadata']['namespace']}/"
            f"{run['metadata']['name']}",
        ),
        (
            EventReason.PHASE_TRANSITION,
            EventType.NORMAL,
            "Phase transition: Pending \u2192 Running",
        ),
    ]
    status = decision.status
    assert status is not None
    assert status.execution_ref == status.pipeline_run_ref
    created = status.condition(ConditionType.EXECUTION_CREATED)
    assert created is not None
    assert created.reason == "ExecutionCreated"


def _with_deadline(deadline: str | None, timeout: str | None = None) -> dict[str, Any]:
    raw = catalog_wfe()
    if deadline is not None:
        raw["spec"]["timesOutAt"] = deadline
    if timeout is not None:
        raw["spec"]["executionConfig"] = {"timeout": timeout}
    return raw


@pytest.mark.parametrize(
    ("deadline", "timeout", "expected"),
    [
        # NOW is 10:02:00.
        ("2025-06-01T10:32:00Z", None, "30m0s"),
        ("2025-06-01T10:02:30.900Z", None, "30s"),  # whole seconds, never past the deadline
        ("2025-06-01T10:32:00Z", "10m", "10m"),  # the earlier deadline wins
        ("2025-06-01T10:07:00Z", "10m", "5m0s"),
        ("2025-06-04T10:02:00Z", None, "24h0m0s"),  # a far deadline is capped
        (None, "10m", "10m"),
        (None, None, None),
    ],
)
def test_times_out_at_becomes_the_run_timeout(
    deadline: str | None, timeout: str | None, expected: str | None
) -> None:
    run = build_pipelinerun(parse_wfe(_with_deadline(deadline, timeout)), CONFIG, now=NOW)
    # Upstream ignores timesOutAt for Tekton: the run would get Tekton's default of 1h.
    assert run["spec"].get("timeouts") == ({"pipeline": expected} if expected else None)


def test_the_cap_is_the_configured_longest_run() -> None:
    config = load_config("execution:\n  max_run_timeout: 2h\n")
    raw = _with_deadline("2025-06-01T20:00:00Z")
    assert build_pipelinerun(parse_wfe(raw), config, now=NOW)["spec"]["timeouts"] == {
        "pipeline": "2h0m0s"
    }
    january = _with_deadline(None, "3h")
    assert [p.field for p in configured_problems(january, config)] == [
        "spec.executionConfig.timeout"
    ]


@pytest.mark.parametrize("deadline", ["2025-06-01T10:00:00Z", "2025-06-01T10:02:00.500Z"])
def test_a_deadline_already_past_fails_without_a_run(deadline: str) -> None:
    decision = decide(_with_deadline(deadline), Observation(run=None), CONFIG, NOW)
    assert not any(isinstance(action, CreateRun) for action in decision.actions)
    status = decision.status
    assert status is not None
    assert status.failure_details is not None
    assert status.failure_details.reason == FailureReason.DEADLINE_EXCEEDED
    assert status.failure_details.was_execution_failure is False
    assert "spec.timesOutAt" in status.failure_details.message


def test_a_past_deadline_does_not_fail_a_wfe_whose_run_exists() -> None:
    raw = _with_deadline("2025-06-01T10:00:00Z")
    run = build_pipelinerun(parse_wfe(raw), CONFIG, now=NOW)
    run["metadata"].update({"uid": "run-uid", "creationTimestamp": "2025-06-01T09:59:00Z"})
    raw["metadata"]["annotations"] = record_of_run(run).annotation()
    decision = decide(raw, Observation(create=Created(run)), CONFIG, NOW)
    assert decision.status is not None
    assert decision.status.phase == Phase.RUNNING


def test_a_refused_catalog_snapshot_says_so_in_the_newest_vocabulary() -> None:
    decision = decide(catalog_wfe(executionEngine="ansible"), Observation(run=None), CONFIG, NOW)
    assert [(e.reason, e.type) for e in decision.events] == [
        (EventReason.WORKFLOW_VALIDATION_FAILED, EventType.WARNING),
        (EventReason.WORKFLOW_FAILED, EventType.WARNING),
        (EventReason.PHASE_TRANSITION, EventType.NORMAL),
    ]
    assert decision.events[0].message == (
        'execution engine "ansible" is not available: this controller runs job, tekton'
    )
    invalid = decide(catalog_wfe(actionType=""), Observation(run=None), CONFIG, NOW)
    assert invalid.events[0].reason == EventReason.WORKFLOW_VALIDATION_FAILED
    assert invalid.events[0].message.startswith("Spec validation failed: spec.workflowRef.")


def test_a_january_workflowexecution_keeps_the_january_events() -> None:
    raw = make_wfe_raw()
    run = build_pipelinerun(parse_wfe(raw), CONFIG, now=NOW)
    run["metadata"].update({"uid": "run-uid", "creationTimestamp": "2025-06-01T10:01:00Z"})
    raw["metadata"]["annotations"] = record_of_run(run).annotation()
    decision = decide(raw, Observation(create=Created(run)), CONFIG, NOW)
    assert [e.reason for e in decision.events] == [EventReason.PIPELINE_RUN_CREATED]
    refused = make_wfe_raw()
    refused["spec"]["workflowRef"]["executionEngine"] = "ansible"
    failed = decide(refused, Observation(run=None), CONFIG, NOW)
    assert [e.reason for e in failed.events] == [EventReason.WORKFLOW_FAILED]


def test_a_catalog_snapshot_waiting_out_a_cooldown_says_cooldown_active() -> None:
    holder = make_wfe_raw(
        name="holder", uid="holder-uid", phase="Completed",
        status={"completionTime": "2025-06-01T10:01:00Z"},
    )  # fmt: skip
    run = build_pipelinerun(parse_wfe(holder), CONFIG, now=NOW)
    run["metadata"].update(
        {
            "uid": "run-uid",
            "resourceVersion": "5",
            "annotations": {
                **run["metadata"]["annotations"],
                "kubernaut.ai/workflow-execution-uid": "holder-uid",
            },
        }
    )
    decision = decide(catalog_wfe(), Observation(run=run, holder=holder), CONFIG, NOW)
    assert decision.status is not None
    assert decision.status.phase == Phase.PENDING
    (event,) = [e for e in decision.events if e.reason == EventReason.COOLDOWN_ACTIVE]
    # NOW is 10:02:00; the holder completed at 10:01:00 with the default cooldown of 5m.
    assert event.message == (
        "Execution deferred: cooldown active for default/deployment/nginx (remaining: 4m0s)"
    )
