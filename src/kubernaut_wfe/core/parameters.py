"""Which of `spec.parameters` reach the run (platform contract §3, #243).

`workflowRef.declaredParameterNames` absent or null passes every parameter; present (even `{}`)
passes only the names it maps to true. `TARGET_RESOURCE` is the controller's own, set after
filtering and never filtered. A Job sets `HOME` and `TMPDIR` itself (its root filesystem is
read-only): parameters of those names do not reach it, and are named as not passed.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubernaut_wfe.constants import (
    JOB_HOME_VARIABLE,
    JOB_TMPDIR_VARIABLE,
    RESERVED_PARAMETER,
    ExecutionEngine,
)
from kubernaut_wfe.core.engines import engine_of
from kubernaut_wfe.core.models import WorkflowExecutionSpec

JOB_ENVIRONMENT: tuple[str, ...] = (JOB_HOME_VARIABLE, JOB_TMPDIR_VARIABLE)
"""The environment a Job's container gets from the controller, whatever the parameters say."""


@dataclass(frozen=True)
class RunParameters:
    """The parameters the run receives, and the names left out (never their values)."""

    passed: dict[str, str]
    stripped: tuple[str, ...]


def run_parameters(spec: WorkflowExecutionSpec) -> RunParameters:
    """Filter `spec.parameters` through the catalog's declared names (and, for a Job, the
    environment the controller sets itself)."""
    declared = spec.workflow_ref.declared_parameter_names
    reserved = JOB_ENVIRONMENT if engine_of(spec) == ExecutionEngine.JOB else ()
    passed = {
        name: value
        for name, value in spec.parameters.items()
        if (declared is None or declared.get(name) is True) and name not in reserved
    }
    stripped = tuple(sorted(name for name in spec.parameters if name not in passed))
    return RunParameters(passed, stripped)


def received_parameters(spec: WorkflowExecutionSpec) -> dict[str, str]:
    """Every parameter the run receives: the filtered ones and the controller's own
    `TARGET_RESOURCE` (the builder's params and the audit events' `parameters`)."""
    return {**run_parameters(spec).passed, RESERVED_PARAMETER: spec.target_resource}


def ordered_parameters(spec: WorkflowExecutionSpec) -> list[tuple[str, str]]:
    """`received_parameters` as `(name, value)` in the run's order, the same for every engine:
    by name, `TARGET_RESOURCE` last."""
    received = received_parameters(spec)
    ordered = sorted(received, key=lambda name: (name == RESERVED_PARAMETER, name))
    return [(name, received[name]) for name in ordered]


def stripped_message(stripped: tuple[str, ...]) -> str:
    """The Event and log text naming the parameters left out."""
    return (
        "Parameters not passed to the run (not declared by the workflow, or set by the"
        " controller): " + ", ".join(stripped)
    )
