"""The audit spool's documents (pure): a deleted WFE whose audit events DataStorage has not
acknowledged when its finalizer must go leaves them in a ConfigMap of the controller's namespace,
one per WFE, until they are delivered; a restarted controller sends them from there.

Why a ConfigMap: the WFE is gone once its finalizer is, so the events need a home in the API that
outlives both it and the process, without holding up the WFE's (or its namespace's) deletion and
without Secrets. What it costs: the events (with the parameters the run received) are readable by
whoever may read ConfigMaps in the controller's namespace, and a ConfigMap holds at most 1 MiB
(a WFE's few events are far below it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from kubernaut_wfe.constants import Annotation, SpoolLabel

EVENTS_KEY: Final = "events.json"
NAME_PREFIX: Final = "wfe-audit-spool-"
SELECTOR: Final = f"{SpoolLabel.AUDIT_SPOOL.value}=true"


class SpoolError(ValueError):
    """A spool ConfigMap that cannot be read back (edited by hand, truncated)."""


@dataclass(frozen=True)
class SpooledEvents:
    """What one spool ConfigMap holds: whose events, and the event documents as sent."""

    name: str
    wfe_uid: str
    wfe: str
    """`namespace/name` of the deleted WFE, for people and logs."""
    events: tuple[Mapping[str, Any], ...]


def spool_name(wfe_uid: str) -> str:
    return f"{NAME_PREFIX}{wfe_uid}"


def spool_document(
    namespace: str, wfe_uid: str, wfe: str, events: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The ConfigMap holding a deleted WFE's undelivered `events` (DataStorage request bodies,
    JSON-ready)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": spool_name(wfe_uid),
            "namespace": namespace,
            "labels": {SpoolLabel.AUDIT_SPOOL.value: "true"},
            "annotations": {
                Annotation.WORKFLOW_EXECUTION.value: wfe,
                Annotation.WORKFLOW_EXECUTION_UID.value: wfe_uid,
            },
        },
        "data": {EVENTS_KEY: json.dumps(list(events), sort_keys=True)},
    }


def read_spool(document: Mapping[str, Any]) -> SpooledEvents:
    """The events of a spool ConfigMap; SpoolError when it does not hold a list of events."""
    metadata = document.get("metadata") or {}
    annotations = metadata.get("annotations") or {}
    name = str(metadata.get("name") or "")
    uid = str(annotations.get(Annotation.WORKFLOW_EXECUTION_UID.value) or "")
    if not name.startswith(NAME_PREFIX) or not uid:
        raise SpoolError(f"{name or '(unnamed)'}: not an audit spool of a WorkflowExecution")
    try:
        events = json.loads((document.get("data") or {})[EVENTS_KEY])
    except (KeyError, TypeError, ValueError) as error:
        raise SpoolError(f"{name}: {EVENTS_KEY} is missing or not JSON") from error
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise SpoolError(f"{name}: {EVENTS_KEY} is not a list of events")
    wfe = str(annotations.get(Annotation.WORKFLOW_EXECUTION.value) or "")
    return SpooledEvents(name, uid, wfe, tuple(events))
