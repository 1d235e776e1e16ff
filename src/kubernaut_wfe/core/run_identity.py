"""The run-identity check before a run is created (platform contract §4): the ServiceAccount a
catalog snapshot names must exist in the execution namespace. Upstream creates the run anyway and
leaves the missing account for Tekton to trip over; here the WFE fails before any run exists,
naming the account and the namespace."""

from __future__ import annotations

from datetime import datetime

from kubernaut_wfe.constants import FailureReason
from kubernaut_wfe.core.actions import Decision, ReadServiceAccount, Requeue, backoff
from kubernaut_wfe.core.config import ControllerConfig
from kubernaut_wfe.core.endings import fail_before_run
from kubernaut_wfe.core.models import WorkflowExecution
from kubernaut_wfe.core.observation import UNREAD, Observation, ReadFailed
from kubernaut_wfe.core.service_accounts import account_to_verify


def decide_run_identity(
    wfe: WorkflowExecution, obs: Observation, config: ControllerConfig, now: datetime
) -> Decision | None:
    """None when the run may be created as far as its ServiceAccount goes; else read it, retry
    a failed read (a missing permission or an unavailable server never fails the WFE), or fail
    `ConfigurationError` when it does not exist."""
    name = account_to_verify(wfe.spec, config.execution)
    if name is None:
        return None
    namespace = config.execution.namespace
    found = obs.service_account
    if found is UNREAD:
        return Decision(actions=(ReadServiceAccount(namespace, name),))
    if isinstance(found, ReadFailed):
        why = (
            f"reading ServiceAccount {namespace}/{name} failed (HTTP {found.failure.status}):"
            f" {found.failure.message}"
        )
        return Decision(actions=(Requeue(backoff(found.attempt), why),), notes=(why,))
    if found:
        return None
    message = (
        f'workflowRef.serviceAccountName "{name}": no such ServiceAccount in namespace {namespace}'
    )
    return fail_before_run(wfe, FailureReason.CONFIGURATION_ERROR, message, now)
