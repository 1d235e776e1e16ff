"""What the invariants need, read once the run has settled: the WFEs from the API server, the
stored audit events from the audit service, the runs and their owners, the spool, the
controller's request rate while failing (the fault proxy's answers and the API server's audit log)
and the controller's memory."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from chaos.drive import RUN_COLLECTIONS, WFES
from chaos.invariants import Observed, ObservedWfe
from chaos.plan import API_FAULTS, ChaosPlan, FaultKind
from chaos.services import CONTROLLER_NAMESPACE
from chaos.workload import Case
from kubernaut_wfe.constants import AuditEventType, Label
from kubernaut_wfe_tools.emulator.faults import RequestRecord
from kubernaut_wfe_tools.testing.stack import stored_audit_events

SPOOLS = f"/api/v1/namespaces/{CONTROLLER_NAMESPACE}/configmaps"
SPOOL_SELECTOR = "kubernaut.ai/audit-spool=true"
FAILING_KINDS = {*API_FAULTS, FaultKind.WATCH_STALL}
"""The stretches in which the controller's API requests fail or go unanswered (while DataStorage
is down the API answers as ever)."""
TERMINAL = ("Completed", "Failed")


async def items(admin: httpx.AsyncClient, path: str, **params: str) -> list[dict[str, Any]]:
    answer = await admin.get(path, params=params)
    answer.raise_for_status()
    found: list[dict[str, Any]] = answer.json()["items"]
    return found


async def wfes(admin: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    return {wfe["metadata"]["name"]: wfe for wfe in await items(admin, WFES)}


async def runs(admin: httpx.AsyncClient) -> list[dict[str, Any]]:
    found = []
    for collection in RUN_COLLECTIONS.values():
        found += await items(admin, collection)
    return found


async def stored_events(
    audit_url: str, cases: Sequence[Case]
) -> dict[str, Counter[AuditEventType]]:
    """The stored events of every case, by type, counted (queries a few at a time)."""
    limit = asyncio.Semaphore(8)

    async def one(case: Case) -> tuple[str, Counter[AuditEventType]]:
        async with limit:
            events = await stored_audit_events(audit_url, f"rr-{case.name}")
        return case.name, Counter(AuditEventType(event["event_type"]) for event in events)

    return dict(await asyncio.gather(*(one(case) for case in cases)))


def ended_as(wfe: dict[str, Any] | None) -> ObservedWfe:
    if wfe is None:
        return ObservedWfe(None, None)
    status = wfe.get("status") or {}
    details = status.get("failureDetails") or {}
    return ObservedWfe(
        status.get("phase"), details.get("reason"), str(details.get("message") or "")
    )


def orphans_and_stale_locks(
    found_runs: Iterable[dict[str, Any]],
    found_wfes: dict[str, dict[str, Any]],
    cooldown: timedelta,
    now: datetime,
) -> tuple[list[str], list[str]]:
    """Runs whose WFE is gone, and runs whose WFE ended longer than the cooldown (plus a
    minute of slack for a loaded machine) ago."""
    orphans, stale = [], []
    for run in found_runs:
        name = run["metadata"]["name"]
        owner = (run["metadata"].get("labels") or {}).get(Label.WORKFLOW_EXECUTION)
        wfe = found_wfes.get(owner or "")
        if wfe is None:
            orphans.append(f"{run['kind']} {name}")
            continue
        status = wfe.get("status") or {}
        ended = status.get("completionTime")
        if status.get("phase") in TERMINAL and ended:
            since = now - datetime.fromisoformat(ended.replace("Z", "+00:00"))
            if since > cooldown + timedelta(minutes=1):
                stale.append(f"{run['kind']} {name} ({since.total_seconds():.0f} s after the end)")
    return orphans, stale


SPAN = 5
"""Seconds the request rate is averaged over: a hot loop lasts, a catch-up burst (a replica's
start-up discovery, the backlog after a stall) does not."""


def max_rate_while_failing(
    requests: Iterable[RequestRecord], plan: ChaosPlan, started_epoch: float
) -> tuple[float, str]:
    """The highest mean rate of the controllers' requests over any `SPAN` seconds inside a
    failing stretch (the whole stretch when it is shorter), and what they were (the five
    commonest verb and resource pairs). The catch-up once a stretch ends is work, not a loop."""
    per_second: dict[int, Counter[str]] = {}
    for record in requests:
        second = per_second.setdefault(int(record.timestamp), Counter())
        second[f"{record.verb} {record.resource}/{record.subresource or ''}".rstrip("/")] += 1
    best, best_start, best_kinds = 0.0, 0, Counter[str]()
    for fault in plan.faults:
        if fault.kind not in FAILING_KINDS:
            continue
        first, last = int(started_epoch + fault.start), int(started_epoch + fault.end)
        span = max(1, min(SPAN, last - first))
        for start in range(first, max(first, last - span) + 1):
            kinds = sum((per_second.get(start + i, Counter()) for i in range(span)), Counter[str]())
            rate = sum(kinds.values()) / span
            if rate > best:
                best, best_start, best_kinds = rate, start, kinds
    if not best_kinds:
        return 0.0, ""
    common = ", ".join(f"{what} {count}" for what, count in best_kinds.most_common(5))
    return best, f"from +{best_start - started_epoch:.0f} s: {common}"


async def observe(
    admin: httpx.AsyncClient,
    audit_url: str,
    cases: Sequence[Case],
    cooldown: timedelta,
    *,
    max_requests_per_second_failing: tuple[float, str],
    peak_rss_mib: float,
) -> Observed:
    found_wfes = await wfes(admin)
    orphans, stale = orphans_and_stale_locks(
        await runs(admin), found_wfes, cooldown, datetime.now(UTC)
    )
    spools = await items(admin, SPOOLS, labelSelector=SPOOL_SELECTOR)
    return Observed(
        wfes={case.name: ended_as(found_wfes.get(case.name)) for case in cases},
        stored=await stored_events(audit_url, cases),
        orphan_runs=orphans,
        locks_past_cooldown=stale,
        spools_left=len(spools),
        max_requests_per_second_failing=max_requests_per_second_failing[0],
        busiest_second=max_requests_per_second_failing[1],
        peak_rss_mib=peak_rss_mib,
    )
