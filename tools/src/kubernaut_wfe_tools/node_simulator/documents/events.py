"""The Events the kubelet posts on a pod (core/v1, through client-go's recorder), and the patch
that counts one again when it repeats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from kubernaut_wfe.constants import EventType
from kubernaut_wfe_tools.node_simulator.vocabulary import KUBELET_COMPONENT
from kubernaut_wfe_tools.tekton_simulator.durations import rfc3339

Document = dict[str, Any]


class EventSubject(Protocol):
    """The pod an Event is about, and its one container."""

    @property
    def namespace(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def uid(self) -> str: ...

    @property
    def container(self) -> str: ...


@dataclass(frozen=True)
class KubeletEvent:
    """One Event to post: about the pod's container (`Pulling`, `Started`, …) or the pod itself
    (`FailedMount`, `Evicted`)."""

    type: EventType
    reason: str
    message: str
    about_container: bool = True

    @property
    def key(self) -> tuple[str, str, str]:
        """What makes two Events the same one, counted again (the recorder's correlation key
        for one object and source)."""
        return (self.type.value, self.reason, self.message)


def event_name(pod: str, unix_nanos: int) -> str:
    """client-go's name for a new Event: `<object>.<nanoseconds in hex>`."""
    return f"{pod}.{unix_nanos:x}"


def event_object(
    scenario: EventSubject,
    event: KubeletEvent,
    *,
    name: str,
    node: str,
    at: datetime,
    pod_resource_version: str | None,
) -> Document:
    """The Event to create: about the pod (or its container, `fieldPath`), from the kubelet of
    `node`."""
    involved: Document = {
        "kind": "Pod",
        "namespace": scenario.namespace,
        "name": scenario.name,
        "uid": scenario.uid,
        "apiVersion": "v1",
    }
    if pod_resource_version:
        involved["resourceVersion"] = pod_resource_version
    if event.about_container:
        involved["fieldPath"] = f"spec.containers{{{scenario.container}}}"
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": scenario.namespace},
        "involvedObject": involved,
        "reason": event.reason,
        "message": event.message,
        "source": {"component": KUBELET_COMPONENT, "host": node},
        "firstTimestamp": rfc3339(at),
        "lastTimestamp": rfc3339(at),
        "count": 1,
        "type": event.type.value,
        "eventTime": None,
        "reportingComponent": KUBELET_COMPONENT,
        "reportingInstance": node,
    }


def repeat_patch(event: KubeletEvent, count: int, at: datetime) -> Document:
    """The strategic-merge patch that records the same Event once more (count `count`)."""
    return {"count": count, "lastTimestamp": rfc3339(at), "message": event.message}
