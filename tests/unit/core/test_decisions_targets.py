"""The decisions on a target resolved through API discovery (`Observation.target`): the lock is
the canonical target's, what the user wrote stays in messages and the run's parameters, and a
target that cannot be resolved fails the WFE before anything runs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from kubernaut_wfe.constants import Annotation, FailureReason, Label, Phase
from kubernaut_wfe.core.actions import CreateRun, ReadLock, ReadRun, RestoreRunMetadata
from kubernaut_wfe.core.config import load_config
from kubernaut_wfe.core.decisions import decide
from kubernaut_wfe.core.naming import pipelinerun_name
from kubernaut_wfe.core.observation import Observation
from kubernaut_wfe.core.pending import waiters_ahead
from kubernaut_wfe.core.record import record_of_run
from kubernaut_wfe.core.targets import UnresolvedTarget, canonical_target, kind_table
from kubernaut_wfe.core.validation import parse_wfe

Factory = Callable[..., dict[str, Any]]
NOW = datetime(2025, 6, 1, 10, 2, tzinfo=UTC)
CONFIG = load_config(None)
NS = CONFIG.execution.namespace
WRITTEN = "default/Deployment/nginx"
CANONICAL = "default/deployment/nginx"
LOCK = pipelinerun_name(CANONICAL)
KINDS = kind_table(
    [
        (
            "apps",
            [
                {
                    "name": "deployments",
                    "singularName": "deployment",
                    "namespaced": True,
                    "kind": "Deployment",
                    "shortNames": ["deploy"],
                }
            ],
        )
    ]
)
LOCKED = {
    "conditions": [
        {
            "type": "ResourceLocked",
            "status": "True",
            "reason": "RecentlyRemediated",
            "lastTransitionTime": "2025-06-01T10:00:00Z",
        }
    ]
}


def test_a_pending_wfe_reads_the_lock_of_its_canonical_target(make_wfe: Factory) -> None:
    decision = decide(make_wfe(target=WRITTEN), Observation(target=CANONICAL), CONFIG, NOW)
    assert decision.actions == (ReadLock(NS, LOCK),)
    assert pipelinerun_name(WRITTEN) != LOCK


def test_the_run_is_named_and_labelled_canonically_but_keeps_the_target_as_written(
    make_wfe: Factory,
) -> None:
    decision = decide(
        make_wfe(target=WRITTEN), Observation(run=None, target=CANONICAL), CONFIG, NOW
    )
    (create,) = decision.actions
    assert isinstance(create, CreateRun)
    metadata = create.body["metadata"]
    assert metadata["name"] == LOCK
    assert metadata["labels"][Label.TARGET_RESOURCE] == "default__deployment__nginx"
    assert metadata["annotations"][Annotation.TARGET_RESOURCE] == WRITTEN
    params = {p["name"]: p["value"] for p in create.body["spec"]["params"]}
    assert params["TARGET_RESOURCE"] == WRITTEN


def test_without_a_resolution_the_target_as_written_is_the_lock(make_wfe: Factory) -> None:
    decision = decide(make_wfe(target=WRITTEN), Observation(), CONFIG, NOW)
    assert decision.actions == (ReadLock(NS, pipelinerun_name(WRITTEN)),)


def test_an_unresolved_target_fails_as_configuration_error_before_anything_runs(
    make_wfe: Factory,
) -> None:
    target = "default/nosuchkind/nginx"
    resolved = canonical_target(target, KINDS)
    assert isinstance(resolved, UnresolvedTarget)
    decision = decide(make_wfe(target=target), Observation(target=resolved), CONFIG, NOW)
    assert decision.status is not None
    assert decision.status.phase == Phase.FAILED
    details = decision.status.failure_details
    assert details is not None
    assert details.reason == FailureReason.CONFIGURATION_ERROR
    assert details.message == resolved.message
    assert details.was_execution_failure is False
    assert decision.actions == ()
    assert "'nosuchkind'" in decision.events[0].message


def test_a_duplicate_on_another_spelling_is_told_in_its_own_words(
    make_wfe: Factory, running_run: dict[str, Any]
) -> None:
    holder = make_wfe(name="holder", uid="holder-uid", phase="Running")
    running_run["metadata"]["annotations"][Annotation.WORKFLOW_EXECUTION] = "default/holder"
    running_run["metadata"]["annotations"][Annotation.WORKFLOW_EXECUTION_UID] = "holder-uid"
    obs = Observation(run=running_run, holder=holder, target=CANONICAL)
    decision = decide(make_wfe(target=WRITTEN), obs, CONFIG, NOW)
    assert decision.status is not None
    details = decision.status.failure_details
    assert details is not None
    assert details.reason == FailureReason.DEDUPLICATED
    assert details.message.startswith(f"Target {WRITTEN} is already being remediated")


def test_a_running_wfe_follows_the_run_its_status_names(make_wfe: Factory) -> None:
    status = {"phase": "Running", "pipelineRunRef": {"name": "wfe-0123456789abcdef"}}
    raw = make_wfe(target=WRITTEN, status=status)
    decision = decide(raw, Observation(target=CANONICAL), CONFIG, NOW)
    assert decision.actions == (ReadRun(NS, "wfe-0123456789abcdef"),)


def test_a_running_run_keeps_the_canonical_target_label(
    make_wfe: Factory, running_run: dict[str, Any]
) -> None:
    status = {
        "phase": "Running",
        "pipelineRunRef": {"name": running_run["metadata"]["name"]},
        "startTime": running_run["metadata"]["creationTimestamp"],
    }
    recorded = record_of_run(running_run).annotation()
    raw = make_wfe(target=WRITTEN, status=status, annotations=recorded)
    labelled = decide(raw, Observation(run=running_run, target=CANONICAL), CONFIG, NOW)
    assert not any(isinstance(action, RestoreRunMetadata) for action in labelled.actions)
    running_run["metadata"]["labels"][Label.TARGET_RESOURCE] = "default__Deployment__nginx"
    relabelled = decide(raw, Observation(run=running_run, target=CANONICAL), CONFIG, NOW)
    (restore,) = relabelled.actions
    assert isinstance(restore, RestoreRunMetadata)
    assert restore.labels == {Label.TARGET_RESOURCE.value: "default__deployment__nginx"}


def test_waiters_on_another_spelling_of_the_object_go_first(make_wfe: Factory) -> None:
    me = parse_wfe(make_wfe(name="me", uid="me", target=CANONICAL))
    others = [
        parse_wfe(
            make_wfe(
                name=f"w-{index}",
                uid=str(index),
                target=target,
                created="2025-06-01T09:00:00Z",
                status=LOCKED,
            )
        )
        for index, target in enumerate(
            ["default/deploy/nginx", "default/deployments.apps/nginx", "default/deploy/other"]
        )
    ]
    assert waiters_ahead(me, others, KINDS) == ("default/w-0", "default/w-1")
    assert waiters_ahead(me, others) == ()  # as written, no spelling is the same
