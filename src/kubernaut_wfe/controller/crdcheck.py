"""Start-up check (spec §3.8): the installed WorkflowExecution CRD has every status field the
controller writes; otherwise refuse to start and say how to fix it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kubernaut_wfe.adapters.kube import CUSTOM_RESOURCE_DEFINITIONS, KubeClient
from kubernaut_wfe.constants import CRD_NAME, VERSION

REQUIRED_STATUS_FIELDS: tuple[tuple[str, ...], ...] = (
    ("phase",),
    ("conditions",),
    ("failureDetails",),
    ("pipelineRunRef",),
    ("pipelineRunStatus", "blockedReason"),
    ("pipelineRunStatus", "blockedMessage"),
    ("auditedEvents",),
    ("rejectedAuditEvents",),
    ("executionRef",),
    ("executionStatus",),
    ("deduplicatedBy",),
    ("failureReason",),
)
UPGRADE_HINT = "upgrade the CRD: kubectl apply -f deploy/crds/kubernaut.ai_workflowexecutions.yaml"


class CrdCheckError(Exception):
    """The CRD is missing or too old; the message says what to do."""


def _status_schema(crd: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for version in (crd.get("spec") or {}).get("versions") or []:
        if version.get("name") == VERSION:
            schema = (version.get("schema") or {}).get("openAPIV3Schema") or {}
            status = (schema.get("properties") or {}).get("status")
            return status if isinstance(status, Mapping) else None
    return None


def missing_status_fields(crd: Mapping[str, Any]) -> list[str]:
    """Dotted paths of the status fields the controller writes that the CRD does not declare."""
    status = _status_schema(crd)
    if status is None:
        return [f"version {VERSION} with a status schema"]
    return [
        ".".join(("status", *path)) for path in REQUIRED_STATUS_FIELDS if not _has(status, path)
    ]


def _has(schema: Mapping[str, Any], path: Sequence[str]) -> bool:
    node: Any = schema
    for part in path:
        properties = node.get("properties") if isinstance(node, Mapping) else None
        if not isinstance(properties, Mapping) or part not in properties:
            return False
        node = properties[part]
    return True


async def check_crd(kube: KubeClient) -> None:
    """Raise `CrdCheckError` unless the installed CRD has what the controller writes."""
    crd = await kube.get(CUSTOM_RESOURCE_DEFINITIONS, CRD_NAME)
    if crd is None:
        raise CrdCheckError(f"the CRD {CRD_NAME} is not installed; {UPGRADE_HINT}")
    missing = missing_status_fields(crd)
    if missing:
        raise CrdCheckError(
            f"the installed CRD {CRD_NAME} lacks {', '.join(missing)}; {UPGRADE_HINT}"
        )
