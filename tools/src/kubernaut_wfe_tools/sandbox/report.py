"""The audit events of a set of WorkflowExecutions, from the audit service's query API."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from kubernaut_wfe.constants import Label

PAGE_SIZE = 1000


def correlation_id(wfe: Mapping[str, Any]) -> str:
    """As the controller derives it: the remediation request's name, else the label, else the
    WFE's name."""
    spec = wfe.get("spec") or {}
    metadata = wfe.get("metadata") or {}
    return str(
        (spec.get("remediationRequestRef") or {}).get("name")
        or (metadata.get("labels") or {}).get(Label.CORRELATION_ID.value)
        or metadata.get("name")
        or ""
    )


async def query_audit_events(client: httpx.AsyncClient, correlation: str) -> list[dict[str, Any]]:
    """Every stored event of one correlation id (all pages)."""
    events: list[dict[str, Any]] = []
    while True:
        response = await client.get(
            "/api/v1/audit/events",
            params={"correlation_id": correlation, "limit": PAGE_SIZE, "offset": len(events)},
        )
        response.raise_for_status()
        body = response.json()
        events.extend(body.get("data") or [])
        if not (body.get("pagination") or {}).get("has_more"):
            return events


async def audit_events_for(
    audit_url: str, wfes: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The events of the WFEs' correlation ids, each once, in the order the service gave them."""
    seen: set[str] = set()
    collected: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=audit_url, timeout=30.0, trust_env=False) as client:
        for correlation in dict.fromkeys(correlation_id(wfe) for wfe in wfes):
            for event in await query_audit_events(client, correlation):
                event_id = str(event.get("event_id"))
                if event_id not in seen:
                    seen.add(event_id)
                    collected.append(event)
    return collected
