"""Audit delivery end to end: the real client and delivery against the project's audit service.

The service runs on 127.0.0.1 over SQLite with its real clock; the trail is read back through
its query API, as the platform's own tests read DataStorage.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from kubernaut_wfe.adapters.audit_config import AuditDeliveryConfig
from kubernaut_wfe.adapters.audit_delivery import AuditDelivery
from kubernaut_wfe.audit_service.server import serve
from kubernaut_wfe.constants import AuditEventType
from kubernaut_wfe.core.models import WorkflowExecution
from kubernaut_wfe.datastorage.client import DataStorageClient
from kubernaut_wfe.datastorage.events import build_audit_event
from kubernaut_wfe.datastorage.models import AuditEventRequest, EventCategory

pytestmark = pytest.mark.timeout(30)
SUCCESS_TRAIL = [
    AuditEventType.SELECTION_COMPLETED,
    AuditEventType.EXECUTION_STARTED,
    AuditEventType.WORKFLOW_COMPLETED,
]


@pytest.fixture
async def service_url(tmp_path: Path) -> AsyncIterator[str]:
    stop = asyncio.Event()
    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        serve("127.0.0.1", 0, f"sqlite:///{tmp_path / 'audit.db'}", stop=stop,
              on_ready=ready.set_result)
    )  # fmt: skip

    def report_early_exit(done: asyncio.Task[None]) -> None:
        if not ready.done():
            ready.set_exception(done.exception() or RuntimeError("the audit service exited"))

    task.add_done_callback(report_early_exit)
    yield await ready
    stop.set()
    await task


@pytest.fixture
async def client(service_url: str) -> AsyncIterator[DataStorageClient]:
    async with DataStorageClient(service_url, timeout=5) as client:
        yield client


def a_wfe(name: str) -> WorkflowExecution:
    now = datetime.now(UTC)
    return WorkflowExecution.model_validate(
        {
            "metadata": {"name": name, "namespace": "payments", "uid": f"uid-{name}"},
            "spec": {
                "remediationRequestRef": {"name": f"rr-{name}"},
                "workflowRef": {"workflowId": "restart", "version": "v1", "containerImage": "i"},
                "targetResource": "payments/deployment/api",
            },
            "status": {
                "phase": "Completed",
                "startTime": (now - timedelta(minutes=2)).isoformat(),
                "completionTime": now.isoformat(),
                "pipelineRunRef": {"name": f"wfe-{name}"},
            },
        }
    )


class Delivery(AuditDelivery):
    """An AuditDelivery whose outcomes can be awaited."""

    def __init__(self, client: DataStorageClient) -> None:
        self.outcome = asyncio.Event()
        super().__init__(
            client,
            registry=CollectorRegistry(),
            config=AuditDeliveryConfig(flush_interval=0.05, initial_backoff=0.05),
            on_outcome=lambda _uid: self.outcome.set(),
        )

    async def until_resolved(self, uid: str) -> None:
        while self.pending_for(uid):
            self.outcome.clear()
            if self.pending_for(uid):
                await self.outcome.wait()


def start_delivery(client: DataStorageClient) -> Delivery:
    delivery = Delivery(client)
    delivery.start()
    return delivery


async def stored_types(client: DataStorageClient, correlation_id: str) -> list[str]:
    page = await client.query_audit_events(correlation_id=correlation_id)
    return sorted(str(event.event_type) for event in page.data or [])


async def test_a_trail_is_stored_exactly_once_across_a_restart(client: DataStorageClient) -> None:
    wfe = a_wfe("wfe-trail")
    at = datetime.now(UTC)
    events = [build_audit_event(event_type, wfe, at=at) for event_type in SUCCESS_TRAIL]
    delivery = start_delivery(client)
    for event in events:
        assert delivery.submit("uid-wfe-trail", event, verify_first=False)
    await delivery.until_resolved("uid-wfe-trail")
    assert delivery.take_outcomes("uid-wfe-trail") == (set(SUCCESS_TRAIL), {})
    assert await delivery.stop() == []

    # A restarted controller lost its memory; status had not recorded the events yet.
    restarted = start_delivery(client)
    for event in events:
        assert restarted.submit("uid-wfe-trail", event, verify_first=True)
    await restarted.until_resolved("uid-wfe-trail")
    assert restarted.take_outcomes("uid-wfe-trail") == (set(SUCCESS_TRAIL), {})
    await restarted.stop()
    assert await stored_types(client, "rr-wfe-trail") == sorted(SUCCESS_TRAIL)


async def test_an_event_the_service_rejects_is_isolated(client: DataStorageClient) -> None:
    good, bad = a_wfe("wfe-good"), a_wfe("wfe-bad")
    at = datetime.now(UTC)
    retired_category: AuditEventRequest = build_audit_event(
        AuditEventType.WORKFLOW_FAILED, bad, at=at
    ).model_copy(update={"event_category": EventCategory.WORKFLOW})
    delivery = start_delivery(client)
    delivery.submit("uid-wfe-bad", retired_category, verify_first=False)
    for event_type in SUCCESS_TRAIL:
        delivery.submit(
            "uid-wfe-good", build_audit_event(event_type, good, at=at), verify_first=False
        )
    await delivery.until_resolved("uid-wfe-good")
    await delivery.until_resolved("uid-wfe-bad")
    acknowledged, rejected = delivery.take_outcomes("uid-wfe-bad")
    assert acknowledged == set()
    assert list(rejected) == [AuditEventType.WORKFLOW_FAILED]
    assert "event_category" in rejected[AuditEventType.WORKFLOW_FAILED]
    await delivery.stop()
    assert await stored_types(client, "rr-wfe-good") == sorted(SUCCESS_TRAIL)
    assert await stored_types(client, "rr-wfe-bad") == []
