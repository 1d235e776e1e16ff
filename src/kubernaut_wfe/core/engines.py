"""Which engine runs a WFE, and the WFEs no engine of this controller runs (platform contract
§9): those fail before anything is created, naming what this controller runs."""

from __future__ import annotations

from kubernaut_wfe.constants import ExecutionEngine, FailureReason, RunKind
from kubernaut_wfe.core.models import WorkflowExecutionSpec

RUNNABLE_ENGINES: frozenset[ExecutionEngine] = frozenset(
    {ExecutionEngine.TEKTON, ExecutionEngine.JOB}
)
"""The engines this controller runs (the readiness probe reports them)."""


def engine_of(spec: WorkflowExecutionSpec) -> str:
    """`workflowRef.executionEngine`; absent or empty means Tekton (the January contract)."""
    return spec.workflow_ref.execution_engine or ExecutionEngine.TEKTON.value


def run_kind(spec: WorkflowExecutionSpec) -> RunKind:
    """The kind of object the WFE's engine runs it as (a Job for `job`, else a PipelineRun)."""
    return RunKind.JOB if engine_of(spec) == ExecutionEngine.JOB else RunKind.PIPELINE_RUN


def engines_text(engines: frozenset[ExecutionEngine] = RUNNABLE_ENGINES) -> str:
    """`job, tekton`: the engines, sorted, for messages and the readiness report."""
    return ", ".join(sorted(engine.value for engine in engines))


def refusal(
    spec: WorkflowExecutionSpec, engines: frozenset[ExecutionEngine] = RUNNABLE_ENGINES
) -> tuple[FailureReason, str] | None:
    """`(reason, message)` when no engine of this controller can run the WFE, else None."""
    if spec.cluster_id:
        return (
            FailureReason.CONFIGURATION_ERROR,
            f'spec.clusterID "{spec.cluster_id}": this controller runs workflows only on its own'
            " cluster (clusterID empty); remote clusters need the platform's fleet gateway",
        )
    engine = engine_of(spec)
    if engine not in {runnable.value for runnable in engines}:
        return (
            FailureReason.UNSUPPORTED_ENGINE,
            f'execution engine "{engine}" is not available: this controller runs'
            f" {engines_text(engines)}",
        )
    return None
