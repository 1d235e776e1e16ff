"""What the controller must not forget about a WFE's run, kept where a status write cannot reach.

`status` is writable by anyone the cluster lets write it (the orchestrator does, by design). So
the one fact that keeps a remediation from running twice, that this WFE created (or adopted) a
run, is also written as the WFE's `kubernaut.ai/execution-resource` annotation: the run's kind,
namespace, name and uid. The uid is the API server's and cannot be edited, so the record also
proves ownership of the run when someone changes the run's own annotations.

The record costs one metadata PATCH per WFE that runs, written right after the run exists and
before the Running status. A WFE with a record never creates a run again: a lost status is
rebuilt from the recorded run, or the WFE fails saying why (`core.decisions`).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from kubernaut_wfe.constants import RunKind, WfeAnnotation
from kubernaut_wfe.core import tekton
from kubernaut_wfe.core.actions import kind_of_run
from kubernaut_wfe.core.models import WorkflowExecution


@dataclass(frozen=True)
class ExecutionRecord:
    """The run a WFE created or adopted."""

    kind: str
    namespace: str
    name: str
    uid: str

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def run_kind(self) -> RunKind:
        """The recorded run's kind (a PipelineRun unless the record says Job)."""
        return RunKind.JOB if self.kind == RunKind.JOB else RunKind.PIPELINE_RUN

    def annotation(self) -> dict[str, str]:
        """The WFE annotation that keeps this record."""
        text = json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)
        return {WfeAnnotation.EXECUTION_RESOURCE.value: text}


@dataclass(frozen=True)
class UnreadableRecord:
    """The annotation is there but is not a record the controller wrote (someone edited it):
    a run was created, which one is unknown."""

    text: str


def record_of_run(run: tekton.Document) -> ExecutionRecord:
    """The record of this run (a PipelineRun or a Job)."""
    meta = tekton.metadata(run)
    return ExecutionRecord(
        kind=kind_of_run(run).value,
        namespace=str(meta.get("namespace") or ""),
        name=str(meta.get("name") or ""),
        uid=str(meta.get("uid") or ""),
    )


def read_record(wfe: WorkflowExecution) -> ExecutionRecord | UnreadableRecord | None:
    """The WFE's record; None when it has none (it never had a run, or predates records)."""
    text = wfe.metadata.annotations.get(WfeAnnotation.EXECUTION_RESOURCE.value)
    return None if text is None else _parsed(text)


@functools.lru_cache(maxsize=4096)
def _parsed(text: str) -> ExecutionRecord | UnreadableRecord:
    """A record's annotation read (each reconcile asks several times: parsed once per text)."""
    try:
        fields: Any = json.loads(text)
    except ValueError:
        return UnreadableRecord(text)
    names = ("kind", "namespace", "name", "uid")
    if not isinstance(fields, Mapping) or not all(
        isinstance(fields.get(name), str) and fields.get(name) for name in names
    ):
        return UnreadableRecord(text)
    return ExecutionRecord(*(str(fields[name]) for name in names))


def is_recorded_run(run: tekton.Document, wfe: WorkflowExecution) -> bool:
    """Whether `run` is the very object the WFE's record names (by the API server's uid)."""
    record = read_record(wfe)
    uid = tekton.metadata(run).get("uid")
    return isinstance(record, ExecutionRecord) and bool(uid) and record.uid == uid
