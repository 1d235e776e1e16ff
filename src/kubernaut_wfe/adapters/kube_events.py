"""Core v1 `Event` objects about another object: pure builders."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from kubernaut_wfe.adapters.kube_resources import EVENTS

EVENT_MESSAGE_LIMIT = 1024
"""Bytes of UTF-8; `events.k8s.io` rejects longer notes, so core events keep to it too."""
MAX_NAME_LENGTH = 253
DEFAULT_EVENT_NAMESPACE = "default"
"""Where events about cluster-scoped objects go, as kubectl expects."""
ELLIPSIS = "..."


def truncate_message(message: str, limit: int = EVENT_MESSAGE_LIMIT) -> str:
    """`message` cut to at most `limit` UTF-8 bytes, on a character boundary, marked by `...`."""
    encoded = message.encode("utf-8")
    if len(encoded) <= limit:
        return message
    kept = encoded[: limit - len(ELLIPSIS)].decode("utf-8", errors="ignore")
    return kept + ELLIPSIS


def event_name(object_name: str, suffix: str) -> str:
    """`<object>.<suffix>`, the object part cut so that the whole is a valid object name."""
    room = MAX_NAME_LENGTH - len(suffix) - 1
    return f"{object_name[:room].rstrip('.-')}.{suffix}"


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_event(
    involved: Mapping[str, Any],
    *,
    type: str,
    reason: str,
    message: str,
    action: str | None,
    component: str,
    instance: str,
    now: datetime,
    suffix: str,
) -> dict[str, Any]:
    """An Event about `involved` (a full object as read from the API), ready to CREATE."""
    metadata = involved.get("metadata") or {}
    name = str(metadata.get("name", ""))
    if not name:
        raise ValueError("the involved object has no metadata.name")
    namespace = metadata.get("namespace")
    reference: dict[str, Any] = {
        "apiVersion": involved.get("apiVersion", ""),
        "kind": involved.get("kind", ""),
        "name": name,
    }
    for field in ("namespace", "uid", "resourceVersion"):
        if metadata.get(field):
            reference[field] = metadata[field]
    stamp = _timestamp(now)
    event: dict[str, Any] = {
        "apiVersion": EVENTS.api_version,
        "kind": EVENTS.kind,
        "metadata": {
            "name": event_name(name, suffix),
            "namespace": namespace or DEFAULT_EVENT_NAMESPACE,
        },
        "involvedObject": reference,
        "type": type,
        "reason": reason,
        "message": truncate_message(message),
        "source": {"component": component},
        "reportingComponent": component,
        "reportingInstance": instance,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }
    if action:
        event["action"] = action
    return event
