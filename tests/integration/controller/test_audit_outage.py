"""DataStorage down across every transition of several WFEs: once it is back, each WFE's due
events are stored exactly once and AuditRecorded turns True; WFEs deleted meanwhile wait for
theirs without holding up the others, and one whose wait ran out keeps them in the audit spool
across a restart."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest

from kubernaut_wfe.audit_service.server import serve
from kubernaut_wfe.constants import FINALIZER, AuditEventType
from kubernaut_wfe.core.audit_spool import SELECTOR as SPOOL
from kubernaut_wfe_tools.processes import free_port
from kubernaut_wfe_tools.testing.stack import wfe_body

# The suite's stack lives in the sibling conftest (importlib mode: no absolute path).
from .conftest import Stack  # noqa: TID252

pytestmark = pytest.mark.timeout(150)
TRAIL = {
    "workflowexecution.selection.completed",
    "workflowexecution.execution.started",
    "workflowexecution.workflow.completed",
}
DELETED_TRAIL = (
    AuditEventType.SELECTION_COMPLETED,
    AuditEventType.EXECUTION_STARTED,
    AuditEventType.WORKFLOW_FAILED,
)


@contextlib.asynccontextmanager
async def audit_service(port: int, database: str) -> AsyncIterator[str]:
    stop = asyncio.Event()
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        serve("127.0.0.1", port, database, stop=stop, on_ready=ready.set_result)
    )
    try:
        yield await asyncio.wait_for(ready, 20)
    finally:
        stop.set()
        await task


def audit_recorded(obj: dict[str, Any] | None) -> bool:
    for condition in ((obj or {}).get("status") or {}).get("conditions") or []:
        if condition["type"] == "AuditRecorded":
            return bool(condition["status"] == "True")
    return False


async def test_events_written_during_an_outage_arrive_exactly_once(stack: Stack) -> None:
    port = free_port()
    await stack.start_controller("--datastorage-url", f"http://127.0.0.1:{port}")
    names = [f"patient-{index}" for index in range(4)]
    for name in names:
        await stack.create(wfe_body(name))
    for name in names:
        await stack.wait_phase(name, "Completed")
    database = f"sqlite:///{stack.tmp_path / 'late-audit.db'}"
    async with audit_service(port, database) as url:
        stack.audit_url = url

        async def all_recorded() -> bool:
            return all([audit_recorded(await stack.wfe(name)) for name in names])

        await stack.wait_for(all_recorded, what="every audit trail", within=90)
        for name in names:
            counts = Counter(e["event_type"] for e in await stack.audit_events(f"rr-{name}"))
            assert set(counts) == TRAIL
            assert set(counts.values()) == {1}


async def test_deletions_waiting_for_datastorage_hold_no_worker(bare_stack: Stack) -> None:
    """More WFEs than the controller has workers (8) deleted while Running during an outage: a
    WFE created next still starts while every deleted one waits for its workflow.failed event;
    once DataStorage is back each event is stored once and every finalizer goes."""
    stack = bare_stack
    port = free_port()
    config = stack.tmp_path / "long-deletion-wait.yaml"
    config.write_text("audit:\n  deletion_delivery_timeout: 10m\n", encoding="utf-8")
    await stack.start_controller(
        "--config", str(config), datastorage_url=f"http://127.0.0.1:{port}"
    )
    deleted = [f"deleted-{index}" for index in range(12)]
    for name in deleted:
        await stack.create(wfe_body(name))
    for name in deleted:
        await stack.wait_phase(name, "Running")
    await asyncio.gather(*(stack.delete(name) for name in deleted))
    await stack.create(wfe_body("newcomer"))
    await stack.wait_phase("newcomer", "Running")
    for name in deleted:
        waiting = await stack.wfe(name)
        assert waiting is not None, f"{name} went before DataStorage acknowledged its event"
        assert waiting["metadata"]["deletionTimestamp"]
        assert waiting["metadata"]["finalizers"] == [FINALIZER]
    database = f"sqlite:///{stack.tmp_path / 'late-audit.db'}"
    async with audit_service(port, database) as url:
        stack.audit_url = url
        for name in deleted:
            await stack.wait_wfe_gone(name)
        for name in deleted:
            counts = Counter(e["event_type"] for e in await stack.audit_events(f"rr-{name}"))
            assert counts == Counter({str(event_type): 1 for event_type in DELETED_TRAIL}), name


async def spooled(stack: Stack) -> list[dict[str, Any]]:
    """The audit spool's ConfigMaps, wherever the controller keeps them."""
    answer = await stack.client.get("/api/v1/configmaps", params={"labelSelector": SPOOL})
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def test_a_wfe_deleted_in_a_long_outage_keeps_its_event_across_a_restart(
    bare_stack: Stack,
) -> None:
    """The loss once left open: deleted while Running, DataStorage down beyond the deletion
    delivery timeout (the finalizer goes), the controller killed before DataStorage returns.
    The workflow.failed event waits in the audit spool, the next controller sends it once
    DataStorage is back (stored exactly once), and the spool goes."""
    stack = bare_stack
    port = free_port()
    config = stack.tmp_path / "short-deletion-wait.yaml"
    config.write_text("audit:\n  deletion_delivery_timeout: 1s\n", encoding="utf-8")
    arguments = ("--config", str(config))
    down = f"http://127.0.0.1:{port}"
    first = await stack.start_controller(*arguments, datastorage_url=down)
    await stack.create(wfe_body("spooled"))
    await stack.wait_phase("spooled", "Running")
    await stack.delete("spooled")
    await stack.wait_wfe_gone("spooled")

    (spool,) = await spooled(stack)
    parked = {event["event_type"] for event in json.loads(spool["data"]["events.json"])}
    assert str(AuditEventType.WORKFLOW_FAILED) in parked, parked
    await first.stop(signal.SIGKILL)
    await stack.start_controller(*arguments, datastorage_url=down)

    database = f"sqlite:///{stack.tmp_path / 'late-audit.db'}"
    async with audit_service(port, database) as url:
        stack.audit_url = url

        async def spool_gone() -> bool:
            return not await spooled(stack)

        await stack.wait_for(spool_gone, what="the spool to go", within=60)
        counts = Counter(e["event_type"] for e in await stack.audit_events("rr-spooled"))
        assert counts == Counter({str(event_type): 1 for event_type in DELETED_TRAIL})
