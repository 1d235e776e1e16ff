"""An in-memory DataStorage for unit tests: serve it through `httpx.MockTransport(fake.handle)`.

It validates with the generated models, stores batches all-or-nothing, answers the query API
with pagination (newest first), and can be told to fail the next requests the ways networks
fail. Code under test then runs over the real `DataStorageClient`. Not a substitute for the
project's audit service in integration tests.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx
import pydantic

from kubernaut_wfe.constants import AuditEventType
from kubernaut_wfe.core.models import WorkflowExecution
from kubernaut_wfe.datastorage.events import build_audit_event
from kubernaut_wfe.datastorage.models import AuditEventRequest

AT = datetime(2026, 1, 20, 10, 0, 0, tzinfo=UTC)
"""Default time of the events `make_event` builds."""
NOW = AT + timedelta(minutes=1)
"""A wall clock reading shortly after `AT`, for the code under test."""


Fault = Literal["refuse", "timeout-before-store", "timeout-after-store"] | int | httpx.Response
"""Connection refused; a timeout before or after the request is processed; an HTTP status (with
a problem body); or a canned response."""


class FakeDataStorage:
    """The audit endpoints of DataStorage, in memory."""

    # Attributes are public on purpose: tests arrange `stored` and read `batches` and `queries`.

    def __init__(self) -> None:
        self.stored: list[dict[str, Any]] = []
        self.batches: list[int] = []
        """Sizes of the batch POSTs that reached the server (failed ones included)."""
        self.queries = 0
        self.faults: deque[Fault] = deque()
        self.poison: Callable[[dict[str, Any]], str | None] = lambda event: None
        self.unavailable_for: Callable[[dict[str, Any]], bool] = lambda event: False
        """A batch holding an event this is true of gets a 503 (the rest are served)."""

    def fail_next(self, *faults: Fault) -> None:
        self.faults.extend(faults)

    def handle(self, request: httpx.Request) -> httpx.Response:
        fault = self.faults.popleft() if self.faults else None
        if fault == "refuse":
            raise httpx.ConnectError("connection refused", request=request)
        if fault == "timeout-before-store":
            raise httpx.ReadTimeout("read timed out", request=request)
        if isinstance(fault, int):
            return _problem(fault, "simulated failure")
        if isinstance(fault, httpx.Response):
            return fault
        if request.method == "GET":
            return self._query(request)
        response = self._store(request)
        if fault == "timeout-after-store":
            raise httpx.ReadTimeout("read timed out", request=request)
        return response

    def _store(self, request: httpx.Request) -> httpx.Response:
        events = httpx.Response(200, content=request.content).json()
        self.batches.append(len(events))
        if any(self.unavailable_for(event) for event in events):
            return _problem(503, "simulated failure of this batch")
        for index, event in enumerate(events):
            try:
                AuditEventRequest.model_validate(event)
            except pydantic.ValidationError as error:
                return _problem(400, f"[{index}] {error}")
            if (detail := self.poison(event)) is not None:
                return _problem(400, f"[{index}] {detail}")
        ids = [str(uuid.uuid4()) for _ in events]
        self.stored.extend(
            {**event, "event_id": id_} for event, id_ in zip(events, ids, strict=True)
        )
        return httpx.Response(201, json={"event_ids": ids, "message": f"{len(ids)} created"})

    def _query(self, request: httpx.Request) -> httpx.Response:
        self.queries += 1
        params = request.url.params
        matching = [
            event
            for event in reversed(self.stored)
            if all(
                event.get(name) == params[name]
                for name in ("correlation_id", "event_type")
                if name in params
            )
        ]
        limit, offset = int(params.get("limit", 100)), int(params.get("offset", 0))
        page = matching[offset : offset + limit]
        pagination = {
            "limit": limit,
            "offset": offset,
            "total": len(matching),
            "has_more": offset + len(page) < len(matching),
        }
        return httpx.Response(200, json={"data": page, "pagination": pagination})

    def stored_types(self, resource_id: str) -> list[str]:
        return [event["event_type"] for event in self.stored if event["resource_id"] == resource_id]


def _problem(status: int, detail: str) -> httpx.Response:
    body = {"type": "about:blank", "title": "Error", "status": status, "detail": detail}
    return httpx.Response(status, json=body, headers={"Content-Type": "application/problem+json"})


def make_event(
    name: str,
    event_type: AuditEventType = AuditEventType.SELECTION_COMPLETED,
    *,
    at: datetime = AT,
    correlation_id: str = "rr-1",
) -> AuditEventRequest:
    wfe = WorkflowExecution.model_validate(
        {
            "metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}"},
            "spec": {
                "remediationRequestRef": {"name": correlation_id},
                "workflowRef": {"workflowId": "wf", "version": "v1", "containerImage": "img"},
                "targetResource": "ns/deployment/app",
            },
        }
    )
    return build_audit_event(event_type, wfe, at=at)
