"""Readers for the Pod and Event documents of a Job (plain mappings, as the API returns them,
possibly malformed: every reader falls back to empty, zero or None instead of raising)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from kubernaut_wfe.constants import (
    DISRUPTION_TARGET_CONDITION,
    JOB_CONTAINER_NAME,
    JOB_KIND,
    JOB_TRACKING_LABEL_CONTROLLER_UID,
    ConditionStatus,
    EventType,
    PodPhase,
)
from kubernaut_wfe.core.tekton import Document, metadata, parse_time, status

NEVER = datetime.min.replace(tzinfo=UTC)
"""The time of a document that says none."""


def time_of(value: Any) -> datetime | None:
    """An RFC 3339 time field in UTC (one without a zone is taken as UTC), or None."""
    moment = parse_time(value)
    return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment


def created_by(pod: Document, job_uid: str) -> bool:
    """Whether the pod is this Job's (not a leftover of an earlier Job of the same name)."""
    if not job_uid:
        return True
    for reference in documents(metadata(pod).get("ownerReferences")):
        if reference.get("kind") == JOB_KIND and text(reference.get("uid")):
            return reference.get("uid") == job_uid
    label = mapping(metadata(pod).get("labels")).get(JOB_TRACKING_LABEL_CONTROLLER_UID)
    return not isinstance(label, str) or label == job_uid


def involves(event: Document, kind: str, name: str, uid: str) -> bool:
    """Whether a core/v1 Event is about that object (its uid must match when both carry one)."""
    subject = mapping(event.get("involvedObject"))
    other_uid = text(subject.get("uid"))
    return (
        bool(name)
        and subject.get("kind") == kind
        and subject.get("name") == name
        and (not uid or not other_uid or other_uid == uid)
    )


def warnings(events: list[Document], reason: str) -> list[Document]:
    """The Warning Events of that reason."""
    return [e for e in events if e.get("type") == EventType.WARNING and e.get("reason") == reason]


def newest(events: list[Document]) -> Document:
    """The Event seen last (the later in the list on a tie); empty when there is none."""

    def moment(event: Document) -> datetime:
        series = mapping(event.get("series"))
        for value in (
            series.get("lastObservedTime"),
            event.get("lastTimestamp"),
            event.get("eventTime"),
            event.get("firstTimestamp"),
            metadata(event).get("creationTimestamp"),
        ):
            if (parsed := time_of(value)) is not None:
                return parsed
        return NEVER

    return max(reversed(events), key=moment) if events else {}


def workflow_container(pod: Document) -> Mapping[str, Any]:
    """The workflow's container status (the first one when none has its name)."""
    statuses = documents(status(pod).get("containerStatuses"))
    named = [item for item in statuses if item.get("name") == JOB_CONTAINER_NAME]
    return (named or statuses or [{}])[0]


def has_started(container: Mapping[str, Any]) -> bool:
    """Whether the container ran: it has or had a running or terminated state with startedAt."""
    states = (mapping(container.get("state")), mapping(container.get("lastState")))
    return any(
        time_of(mapping(recorded.get(kind)).get("startedAt")) is not None
        for recorded in states
        for kind in ("running", "terminated")
    )


def state(container: Mapping[str, Any], kind: str) -> Mapping[str, Any]:
    """The container's current `waiting`, `running` or `terminated` state (empty if another)."""
    return mapping(mapping(container.get("state")).get(kind))


def exit_code(terminated: Mapping[str, Any]) -> int | None:
    """A terminated state's exit code, if it is a number."""
    code = terminated.get("exitCode")
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def memory_limit(pod: Document, container: str) -> str:
    """`, memory limit <quantity>` of the container in the pod's spec, or `""`."""
    for spec in documents(mapping(pod.get("spec")).get("containers")):
        limit = mapping(mapping(spec.get("resources")).get("limits")).get("memory")
        if spec.get("name") == container and isinstance(limit, str | int) and limit:
            return f", memory limit {limit}"
    return ""


def is_disrupted(pod: Document) -> bool:
    """Failed with `DisruptionTarget` True: the Job's pod failure policy ignores it."""
    return phase(pod) == PodPhase.FAILED and any(
        item.get("type") == DISRUPTION_TARGET_CONDITION
        and item.get("status") == ConditionStatus.TRUE
        for item in documents(status(pod).get("conditions"))
    )


def unfinished(pods: list[Document]) -> list[Document]:
    """The pods neither Succeeded nor Failed."""
    return [pod for pod in pods if phase(pod) not in set(PodPhase)]


def phase(pod: Document) -> str:
    """`status.phase`, `""` when absent."""
    return text(status(pod).get("phase"))


def created_at(pod: Document) -> datetime:
    """`metadata.creationTimestamp`, `NEVER` when absent (to sort by)."""
    return time_of(metadata(pod).get("creationTimestamp")) or NEVER


def uid_of(document: Document) -> str:
    """`metadata.uid`, `""` when absent."""
    return text(metadata(document).get("uid"))


def count(value: Any) -> int:
    """A status counter: a positive whole number, else 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def text(value: Any) -> str:
    """A string field, `""` when it is anything else."""
    return value if isinstance(value, str) else ""


def mapping(value: Any) -> Mapping[str, Any]:
    """An object field, empty when it is anything else."""
    return value if isinstance(value, Mapping) else {}


def documents(value: Any) -> list[Mapping[str, Any]]:
    """The objects of a list field (anything else in it is skipped)."""
    if not isinstance(value, Sequence) or isinstance(value, str | bytes):
        return []
    return [item for item in value if isinstance(item, Mapping)]
