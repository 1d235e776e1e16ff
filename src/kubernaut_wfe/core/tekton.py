"""Readers for PipelineRun and TaskRun documents (plain mappings, as the API returns them)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kubernaut_wfe.constants import SUCCEEDED_CONDITION, TASKRUN_KIND, ConditionStatus

Document = Mapping[str, Any]


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


def metadata(document: Document) -> Mapping[str, Any]:
    return _mapping(document.get("metadata"))


def status(document: Document) -> Mapping[str, Any]:
    return _mapping(document.get("status"))


def spec_status(document: Document) -> str:
    """`spec.status`: what the run's users ask Tekton to do with it (`""` when nothing)."""
    return str(_mapping(document.get("spec")).get("status") or "")


def name_of(document: Document) -> str:
    return str(metadata(document).get("name") or "")


@dataclass(frozen=True)
class SucceededCondition:
    """The Knative `Succeeded` condition of a run; status `Unknown` when absent or not one of
    Knative's three words (a `Maybe`, a `false` or a boolean decides nothing)."""

    status: str
    reason: str
    message: str


_CONDITION_STATUSES = frozenset(status.value for status in ConditionStatus)


def succeeded(document: Document) -> SucceededCondition | None:
    """The `Succeeded` condition, or None when Tekton has not written one yet."""
    for condition in _list(status(document).get("conditions")):
        if isinstance(condition, Mapping) and condition.get("type") == SUCCEEDED_CONDITION:
            said = condition.get("status")
            return SucceededCondition(
                status=said if said in _CONDITION_STATUSES else ConditionStatus.UNKNOWN.value,
                reason=str(condition.get("reason") or ""),
                message=str(condition.get("message") or ""),
            )
    return None


def is_finished(document: Document) -> bool:
    """Whether Tekton decided the run's outcome (`Succeeded` True or False)."""
    condition = succeeded(document)
    return condition is not None and condition.status != ConditionStatus.UNKNOWN


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 time from a document, or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def creation_timestamp(document: Document) -> datetime | None:
    return parse_time(metadata(document).get("creationTimestamp"))


def deletion_timestamp(document: Document) -> datetime | None:
    return parse_time(metadata(document).get("deletionTimestamp"))


def completion_time(document: Document) -> datetime | None:
    return parse_time(status(document).get("completionTime"))


def start_time(document: Document) -> datetime | None:
    return parse_time(status(document).get("startTime"))


@dataclass(frozen=True)
class ChildReference:
    """One `status.childReferences` entry, with its position in the list."""

    index: int
    kind: str
    name: str
    pipeline_task_name: str


def child_references(run: Document) -> list[ChildReference]:
    """Every child reference, in Tekton's order."""
    children = []
    for index, entry in enumerate(_list(status(run).get("childReferences"))):
        item = _mapping(entry)
        children.append(
            ChildReference(
                index=index,
                kind=str(item.get("kind") or ""),
                name=str(item.get("name") or ""),
                pipeline_task_name=str(item.get("pipelineTaskName") or ""),
            )
        )
    return children


def taskrun_children(run: Document) -> list[ChildReference]:
    """The TaskRun children only."""
    return [child for child in child_references(run) if child.kind == TASKRUN_KIND]


def pod_name(taskrun: Document) -> str:
    return str(status(taskrun).get("podName") or "")


def steps(taskrun: Document) -> list[Mapping[str, Any]]:
    return [_mapping(step) for step in _list(status(taskrun).get("steps"))]


def terminated(step: Mapping[str, Any]) -> Mapping[str, Any]:
    return _mapping(step.get("terminated"))


def waiting(step: Mapping[str, Any]) -> Mapping[str, Any]:
    return _mapping(step.get("waiting"))


def pipeline_task_total(run: Document) -> int | None:
    """Tasks + finally of the resolved `status.pipelineSpec`, or None when it is absent."""
    spec = status(run).get("pipelineSpec")
    if not isinstance(spec, Mapping):
        return None
    return len(_list(spec.get("tasks"))) + len(_list(spec.get("finally")))


def index_by_name(taskruns: Sequence[Document] | Mapping[str, Document]) -> dict[str, Document]:
    """TaskRuns keyed by name (accepts a list as read from the API, or a ready mapping)."""
    if isinstance(taskruns, Mapping):
        return dict(taskruns)
    return {name_of(taskrun): taskrun for taskrun in taskruns}
