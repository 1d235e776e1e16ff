"""Run identity (platform contract §4): which ServiceAccount a WFE's run runs as, and the rules
for naming one, in the January shape (`executionConfig.serviceAccountName`) and in the catalog
snapshot (`workflowRef.serviceAccountName`).

Upstream takes the catalog's account unchecked and leaves an empty one to the namespace's
`default` account. Here an empty name means the configured runner in both shapes; the January
account must be one of the configured runners; the catalog's passes the configured allow-list,
which admits any account when it is empty (platform admins own the catalog), and must exist in
the execution namespace (`core.run_identity` checks that just before the run is created).
"""

from __future__ import annotations

from kubernaut_wfe.core.config import ExecutionSettings
from kubernaut_wfe.core.models import WorkflowExecutionSpec
from kubernaut_wfe.core.problems import SpecProblem

CATALOG_FIELD = "spec.workflowRef.serviceAccountName"
JANUARY_FIELD = "spec.executionConfig.serviceAccountName"


def named_service_account(spec: WorkflowExecutionSpec) -> str:
    """The account the WFE names: the catalog's, else the January one, else `""`."""
    january = spec.execution_config.service_account_name if spec.execution_config else None
    return spec.workflow_ref.service_account_name or january or ""


def run_service_account(spec: WorkflowExecutionSpec, execution: ExecutionSettings) -> str:
    """The ServiceAccount the run runs as (validate the WFE first): the one it names, else the
    configured runner."""
    return named_service_account(spec) or execution.service_account


def account_to_verify(spec: WorkflowExecutionSpec, execution: ExecutionSettings) -> str | None:
    """The catalog's account whose existence is checked before the run is created, or None: an
    empty one or the configured runner (the installation provides it) needs no check, and the
    January account is an installed runner by configuration."""
    name = spec.workflow_ref.service_account_name
    return name if name and name != execution.service_account else None


def service_account_problems(
    catalog: str | None, january: str | None, *, allowed: frozenset[str], default: str
) -> list[SpecProblem]:
    """What is wrong with the accounts a WFE names (`catalog`: `workflowRef.serviceAccountName`,
    `january`: `executionConfig.serviceAccountName`), given the configured allow-list
    (`execution.allowed_service_accounts`) and runner (`execution.service_account`)."""
    runners = allowed | {default}
    listed = ", ".join(sorted(runners))
    problems = []
    if january and january not in runners:
        problems.append(
            SpecProblem(
                JANUARY_FIELD,
                f'"{january}" is not an allowed runner service account (allowed: {listed});'
                " add it to execution.allowed_service_accounts or drop the field",
            )
        )
    if catalog and allowed and catalog not in runners:
        problems.append(
            SpecProblem(
                CATALOG_FIELD,
                f'"{catalog}" is not an allowed runner service account (allowed: {listed});'
                " add it to execution.allowed_service_accounts, or empty that list to admit any"
                " ServiceAccount of the execution namespace",
            )
        )
    if catalog and january and catalog != january:
        problems.append(
            SpecProblem(
                CATALOG_FIELD,
                f'"{catalog}" differs from {JANUARY_FIELD} "{january}": name one account'
                " (or the same one in both)",
            )
        )
    return problems
