"""Which run a WFE's decisions look at: the one it owns (its execution record, else its
status), else the one at its lock's name; the GET that reads it and how messages name it."""

from __future__ import annotations

from kubernaut_wfe.core import tekton
from kubernaut_wfe.core.actions import ReadLock, ReadRun, kind_of_run
from kubernaut_wfe.core.config import ControllerConfig
from kubernaut_wfe.core.engines import run_kind
from kubernaut_wfe.core.models import WorkflowExecution
from kubernaut_wfe.core.naming import pipelinerun_name
from kubernaut_wfe.core.observation import Observation
from kubernaut_wfe.core.record import ExecutionRecord, read_record
from kubernaut_wfe.core.targets import lock_target


def lock_target_of(wfe: WorkflowExecution, obs: Observation) -> str:
    """The target the WFE's lock is named after (`core.targets.lock_target`)."""
    return lock_target(wfe.spec.target_resource, obs.target)


def read_lock(wfe: WorkflowExecution, config: ControllerConfig, obs: Observation) -> ReadLock:
    """GET the runs of both kinds at the WFE's lock name: the name of its canonical target."""
    name = pipelinerun_name(lock_target_of(wfe, obs))
    return ReadLock(config.execution.namespace, name, run_kind(wfe.spec))


def own_run_name(wfe: WorkflowExecution) -> str | None:
    """The name of the run the WFE created or adopted: the one its execution record names
    (`core.record`; status can be rewritten by others), else the one its status names (a WFE
    from before records), else None."""
    record = read_record(wfe)
    if isinstance(record, ExecutionRecord):
        return record.name
    ref = wfe.status.pipeline_run_ref
    return ref.name if ref is not None else None


def read_run(
    wfe: WorkflowExecution, config: ControllerConfig, obs: Observation
) -> ReadRun | ReadLock:
    """GET the WFE's own run once it has one (a run created under an earlier lock name, before
    targets were canonical, is still followed and released), else the run at its lock name."""
    name = own_run_name(wfe)
    if name is None:
        return read_lock(wfe, config, obs)
    return ReadRun(config.execution.namespace, name, run_kind(wfe.spec))


def run_ref(run: tekton.Document) -> str:
    """`<namespace>/<name>` of a run, as Events and messages name it."""
    meta = tekton.metadata(run)
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


def run_title(run: tekton.Document) -> str:
    """`PipelineRun <namespace>/<name>` or `Job <namespace>/<name>`, as messages name a run."""
    return f"{kind_of_run(run)} {run_ref(run)}"
