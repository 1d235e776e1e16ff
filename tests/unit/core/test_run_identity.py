"""Run identity (platform contract §4, issue #17): which ServiceAccount a run runs as, the rules
for naming one in either shape, and the existence check of the catalog snapshot's account just
before the run is created."""

from __future__ import annotations

from typing import Any

import pytest

from kubernaut_wfe.constants import FailureReason, Phase
from kubernaut_wfe.core.actions import CreateRun, ReadLock, ReadServiceAccount, Requeue, backoff
from kubernaut_wfe.core.config import ControllerConfig, load_config
from kubernaut_wfe.core.decisions import decide
from kubernaut_wfe.core.observation import UNREAD, ApiFailure, Observation, ReadFailed
from kubernaut_wfe.core.pipelinerun import build_pipelinerun
from kubernaut_wfe.core.validation import configured_problems, parse_wfe
from kubernaut_wfe_tools.testing.catalog_fixtures import catalog_variant

from .conftest import NOW, make_wfe_raw  # noqa: TID252

RUNNER = "kubernaut-workflow-runner"
EXECUTION_NAMESPACE = "kubernaut-workflows"
CATALOG_FIELD = "spec.workflowRef.serviceAccountName"
JANUARY_FIELD = "spec.executionConfig.serviceAccountName"
ANY_ACCOUNT = load_config(None)
LISTED = load_config("execution: {allowed_service_accounts: [deployer]}")


def wfe(catalog: str | None = None, january: str | None = None) -> dict[str, Any]:
    """A catalog snapshot (with our finalizer) naming `catalog` in `workflowRef` and `january`
    in `executionConfig` (None: the field is absent)."""
    changes: dict[str, Any] = {"targetResource": "default/deployment/nginx"}
    if catalog is not None:
        changes["workflowRef.serviceAccountName"] = catalog
    if january is not None:
        changes["executionConfig.serviceAccountName"] = january
    return make_wfe_raw(spec=catalog_variant(changes)["spec"])


def january_wfe(account: str) -> dict[str, Any]:
    raw = make_wfe_raw()
    raw["spec"]["executionConfig"] = {"serviceAccountName": account}
    return raw


def run_account(raw: dict[str, Any], config: ControllerConfig) -> str:
    account: str = build_pipelinerun(parse_wfe(raw), config, now=NOW)["spec"]["taskRunTemplate"][
        "serviceAccountName"
    ]
    return account


@pytest.mark.parametrize(
    ("raw", "config", "account"),
    [
        (wfe(), ANY_ACCOUNT, RUNNER),  # absent: the configured runner, not `default`
        (wfe(""), ANY_ACCOUNT, RUNNER),
        (wfe(""), LISTED, RUNNER),
        (wfe("anyone"), ANY_ACCOUNT, "anyone"),  # an empty list admits any account
        (wfe(RUNNER), LISTED, RUNNER),  # the runner is always allowed
        (wfe("deployer"), LISTED, "deployer"),
        (wfe("deployer", "deployer"), LISTED, "deployer"),  # the same in both: one account
        (wfe("", "deployer"), LISTED, "deployer"),
        (january_wfe("deployer"), LISTED, "deployer"),
        (january_wfe(""), ANY_ACCOUNT, RUNNER),
    ],
    ids=[
        "catalog-absent", "catalog-empty", "catalog-empty-list-set", "catalog-any-list-empty",
        "catalog-runner-list-set", "catalog-in-list", "both-equal", "january-only-in-catalog-shape",
        "january-in-list", "january-empty",
    ],
)  # fmt: skip
def test_an_allowed_account_is_the_one_the_run_runs_as(
    raw: dict[str, Any], config: ControllerConfig, account: str
) -> None:
    assert configured_problems(raw, config) == []
    assert run_account(raw, config) == account


@pytest.mark.parametrize(
    ("raw", "config", "field", "named"),
    [
        (wfe("intruder"), LISTED, CATALOG_FIELD, ['"intruder"', "deployer", RUNNER]),
        # the January field keeps its rule: the runner or a listed account, even when unlisted
        (january_wfe("anyone"), ANY_ACCOUNT, JANUARY_FIELD, ['"anyone"', RUNNER]),
        (wfe("", "anyone"), ANY_ACCOUNT, JANUARY_FIELD, ['"anyone"']),
        (wfe("anyone", RUNNER), ANY_ACCOUNT, CATALOG_FIELD, ['"anyone"', f'"{RUNNER}"']),
        (wfe("deployer", RUNNER), LISTED, CATALOG_FIELD, ['"deployer"', f'"{RUNNER}"']),
    ],
    ids=["catalog-not-in-list", "january-not-in-list", "january-in-catalog-shape",
         "both-differ", "both-differ-both-allowed"],
)  # fmt: skip
def test_an_account_the_rules_refuse_is_a_configuration_error_naming_it(
    raw: dict[str, Any], config: ControllerConfig, field: str, named: list[str]
) -> None:
    (problem,) = configured_problems(raw, config)
    assert problem.field == field
    assert all(text in problem.message for text in named), problem.message
    decision = decide(raw, Observation(run=None), config, NOW)
    assert decision.actions == ()  # neither a read of the account nor a run
    assert decision.status is not None
    assert decision.status.failure_details is not None
    assert decision.status.failure_details.reason == FailureReason.CONFIGURATION_ERROR
    assert named[0] in decision.status.failure_details.message


@pytest.mark.parametrize(
    ("raw", "config"),
    [
        (wfe(), ANY_ACCOUNT),
        (wfe(""), ANY_ACCOUNT),
        (wfe(RUNNER), LISTED),  # the installation provides the runner
        (wfe("", "deployer"), LISTED),  # the January account is a runner by configuration
        (january_wfe("deployer"), LISTED),
        (make_wfe_raw(), ANY_ACCOUNT),
    ],
    ids=["absent", "empty", "the-runner", "january-field", "january-shape", "january-default"],
)
def test_the_run_is_created_without_reading_an_account_that_needs_no_check(
    raw: dict[str, Any], config: ControllerConfig
) -> None:
    (action,) = decide(raw, Observation(run=None), config, NOW).actions
    assert isinstance(action, CreateRun)


@pytest.mark.parametrize("config", [ANY_ACCOUNT, LISTED])
def test_the_catalog_account_is_read_once_the_target_is_free(config: ControllerConfig) -> None:
    raw = wfe("deployer")
    (lock_read,) = decide(raw, Observation(), config, NOW).actions
    assert isinstance(lock_read, ReadLock)  # the lock first: a held target needs no account
    decision = decide(raw, Observation(run=None), config, NOW)
    assert decision.actions == (ReadServiceAccount(EXECUTION_NAMESPACE, "deployer"),)
    assert decision.status is None
    (create,) = decide(raw, Observation(run=None, service_account=True), config, NOW).actions
    assert isinstance(create, CreateRun)
    assert create.body["spec"]["taskRunTemplate"]["serviceAccountName"] == "deployer"


def test_a_passed_deadline_fails_before_the_account_is_read() -> None:
    raw = wfe("deployer")
    raw["spec"]["timesOutAt"] = "2025-06-01T10:00:00Z"
    decision = decide(raw, Observation(run=None, service_account=UNREAD), ANY_ACCOUNT, NOW)
    assert decision.actions == ()
    assert decision.status is not None
    assert decision.status.failure_details is not None
    assert decision.status.failure_details.reason == FailureReason.DEADLINE_EXCEEDED


def test_a_missing_account_fails_naming_it_and_the_namespace_without_a_run() -> None:
    decision = decide(
        wfe("deployer"), Observation(run=None, service_account=False), ANY_ACCOUNT, NOW
    )
    assert not any(isinstance(action, CreateRun) for action in decision.actions)
    status = decision.status
    assert status is not None
    assert status.phase == Phase.FAILED
    assert status.failure_details is not None
    assert status.failure_details.reason == FailureReason.CONFIGURATION_ERROR
    assert status.failure_details.was_execution_failure is False
    assert status.failure_details.message == (
        'workflowRef.serviceAccountName "deployer": no such ServiceAccount in namespace'
        " kubernaut-workflows"
    )
    assert status.failure_reason == FailureReason.CONFIGURATION_ERROR


@pytest.mark.parametrize(
    ("failure", "attempt"),
    [
        (ApiFailure(403, 'serviceaccounts "deployer" is forbidden'), 1),
        (ApiFailure(403, 'serviceaccounts "deployer" is forbidden'), 4),
        (ApiFailure(503, "etcdserver: leader changed"), 2),
        (ApiFailure(0, "connection refused"), 1),
    ],
)
def test_a_failed_read_is_retried_with_backoff_never_failing_the_wfe(
    failure: ApiFailure, attempt: int
) -> None:
    observed = Observation(run=None, service_account=ReadFailed(failure, attempt))
    decision = decide(wfe("deployer"), observed, ANY_ACCOUNT, NOW)
    assert decision.status is None
    (requeue,) = decision.actions
    assert isinstance(requeue, Requeue)
    assert requeue.after == backoff(attempt)
    assert "kubernaut-workflows/deployer" in requeue.why
    assert failure.message in requeue.why
    assert decision.notes == (requeue.why,)
