"""A deleted WFE waiting for its audit event: the reconcile hands the event to delivery (over
the real client and an in-memory DataStorage) and returns with a requeue; the finalizer goes once
DataStorage acknowledged, or at the deadline with a warning."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import structlog
from prometheus_client import CollectorRegistry

from kubernaut_wfe.adapters.audit_config import AuditDeliveryConfig
from kubernaut_wfe.adapters.audit_delivery import AuditDelivery
from kubernaut_wfe.adapters.discovery import ApiDiscovery
from kubernaut_wfe.adapters.kube_errors import ApiError
from kubernaut_wfe.constants import AuditEventType
from kubernaut_wfe.core.config import load_config
from kubernaut_wfe.datastorage.client import DataStorageClient
from kubernaut_wfe.reconcile.cache import ObjectCache, WfeKey
from kubernaut_wfe.reconcile.metrics import ControllerMetrics
from kubernaut_wfe.reconcile.reconciler import Reconciler
from kubernaut_wfe_tools.testing.fake_datastorage import FakeDataStorage, Fault

from .conftest import KubeFactory, wfe_document  # noqa: TID252

KEY = ("team", "w")
UID = "wfe-uid"
DELETED_AT = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
FAILED = AuditEventType.WORKFLOW_FAILED
WAIT = load_config().audit.deletion_delivery_timeout


def deleted_while_running() -> dict[str, Any]:
    status = {
        "phase": "Running",
        "startTime": "2026-01-01T11:00:00Z",
        "pipelineRunRef": {"name": "wfe-run"},
        "pipelineRunStatus": {"status": "Unknown"},
        "auditedEvents": [
            AuditEventType.SELECTION_COMPLETED.value,
            AuditEventType.EXECUTION_STARTED.value,
        ],
    }
    return wfe_document(status, deletionTimestamp="2026-01-01T12:00:00Z")


class Api:
    """The run is gone already (404); every other request succeeds; records them all."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []

    def __call__(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        self.requests.append((method, path))
        if path.endswith("/events"):
            return 201, body
        if method == "PATCH":
            return 200, body
        return 404, {"kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404}

    def finalizer_removals(self) -> int:
        return len(
            [m for m, path in self.requests if m == "PATCH" and "/workflowexecutions/" in path]
        )


class Subject:
    def __init__(self, reconciler: Reconciler, delivery: AuditDelivery, clock: list[datetime]):
        self.reconciler = reconciler
        self.delivery = delivery
        self.clock = clock
        self.scheduled: list[tuple[WfeKey, float]] = []
        self.woken = asyncio.Event()


@pytest.fixture
async def make_subject(
    scripted_kube: KubeFactory,
) -> AsyncIterator[Callable[[Api, FakeDataStorage], Awaitable[Subject]]]:
    deliveries: list[AuditDelivery] = []

    async def make(api: Api, datastorage: FakeDataStorage) -> Subject:
        kube = await scripted_kube(api)
        clock = [DELETED_AT + timedelta(seconds=1)]
        subject: Subject
        client = DataStorageClient(
            "http://datastorage", transport=httpx.MockTransport(datastorage.handle)
        )
        delivery = AuditDelivery(
            client,
            registry=CollectorRegistry(),
            config=AuditDeliveryConfig(flush_interval=0.01, initial_backoff=0.01),
            on_outcome=lambda uid: subject.woken.set(),
            now=lambda: clock[0],
        )
        delivery.start()
        deliveries.append(delivery)
        cache = ObjectCache()
        cache.store_wfe(deleted_while_running())
        reconciler = Reconciler(
            config=load_config(),
            kube=kube,
            cache=cache,
            metrics=ControllerMetrics(),
            schedule=lambda key, delay: subject.scheduled.append((key, delay)),
            discovery=ApiDiscovery(kube),
            delivery=delivery,
            now=lambda: clock[0],
        )
        subject = Subject(reconciler, delivery, clock)
        return subject

    yield make
    for delivery in deliveries:
        # Not 0: on Python 3.11 a cancel racing the stop's own wake-up is lost in `wait_for`.
        await delivery.stop(timeout=0.1)


async def test_the_finalizer_goes_once_datastorage_acknowledged(
    make_subject: Callable[[Api, FakeDataStorage], Awaitable[Subject]],
) -> None:
    api, datastorage = Api(), FakeDataStorage()
    subject = await make_subject(api, datastorage)
    with structlog.testing.capture_logs() as logs:
        await subject.reconciler.reconcile(KEY)
        assert api.finalizer_removals() == 0
        assert subject.delivery.pending_for(UID) == {FAILED}
        assert subject.scheduled == [(KEY, WAIT.total_seconds())]  # from the hand-over
        await asyncio.wait_for(subject.woken.wait(), 10)
        await subject.reconciler.reconcile(KEY)
    assert api.finalizer_removals() == 1
    assert datastorage.stored_types("w") == [FAILED.value]
    assert not [line for line in logs if line["log_level"] == "warning"]
    assert subject.delivery.take_outcomes(UID) == ({FAILED}, {})


async def test_the_wait_ends_at_the_deadline_with_a_warning(
    make_subject: Callable[[Api, FakeDataStorage], Awaitable[Subject]],
) -> None:
    api, datastorage = Api(), FakeDataStorage()
    refused: list[Fault] = ["refuse"] * 10_000
    datastorage.fail_next(*refused)
    subject = await make_subject(api, datastorage)
    with structlog.testing.capture_logs() as logs:
        await subject.reconciler.reconcile(KEY)
        subject.clock[0] += WAIT / 2
        await subject.reconciler.reconcile(KEY)
        assert api.finalizer_removals() == 0
        subject.clock[0] += WAIT / 2
        await subject.reconciler.reconcile(KEY)
    assert api.finalizer_removals() == 1
    warnings = [line for line in logs if line["log_level"] == "warning"]
    assert [(w["event"], w["pending"]) for w in warnings] == [
        ("removing the finalizer before DataStorage acknowledged", [FAILED])
    ]
    assert subject.delivery.pending_for(UID) == {FAILED}  # still sent once DataStorage is back


async def test_forgetting_the_wfe_drops_its_outcomes_in_delivery(
    make_subject: Callable[[Api, FakeDataStorage], Awaitable[Subject]],
) -> None:
    subject = await make_subject(Api(), FakeDataStorage())
    await subject.reconciler.reconcile(KEY)
    await asyncio.wait_for(subject.woken.wait(), 10)
    subject.reconciler.forget(UID)
    assert subject.delivery.take_outcomes(UID) == (set(), {})


class RefusingDelete(Api):
    """The deleted WFE's own run is there, and DELETE of it fails with 500."""

    def __init__(self) -> None:
        super().__init__()
        self.event_reasons: list[str] = []

    def __call__(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        if path.endswith("/events") and isinstance(body, dict):
            self.event_reasons.append(str(body.get("reason")))
        if method == "GET" and path.endswith("/pipelineruns/wfe-run"):
            self.requests.append((method, path))
            return 200, {
                "apiVersion": "tekton.dev/v1",
                "kind": "PipelineRun",
                "metadata": {
                    "name": "wfe-run",
                    "namespace": "kubernaut-workflows",
                    "uid": "run-uid",
                    "resourceVersion": "3",
                    "annotations": {
                        "kubernaut.ai/workflow-execution": "team/w",
                        "kubernaut.ai/workflow-execution-uid": UID,
                    },
                },
            }
        if method == "DELETE":
            self.requests.append((method, path))
            return 500, {"kind": "Status", "status": "Failure", "code": 500, "message": "etcd"}
        return super().__call__(method, path, body)


async def test_a_failed_delete_of_the_run_posts_cleanup_failed_and_keeps_the_finalizer(
    make_subject: Callable[[Api, FakeDataStorage], Awaitable[Subject]],
) -> None:
    api = RefusingDelete()
    subject = await make_subject(api, FakeDataStorage())
    with pytest.raises(ApiError):
        await subject.reconciler.reconcile(KEY)
    await subject.reconciler.stop()
    assert (
        "DELETE",
        "/apis/tekton.dev/v1/namespaces/kubernaut-workflows/pipelineruns/wfe-run",
    ) in (api.requests)
    assert "CleanupFailed" in api.event_reasons
    assert api.finalizer_removals() == 0
