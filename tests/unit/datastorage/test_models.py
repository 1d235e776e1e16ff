"""The generated models enforce the spec: the discriminated union and the envelope's constraints."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from kubernaut_wfe.constants import AuditEventType
from kubernaut_wfe.datastorage import models

PAYLOAD = {
    "event_type": AuditEventType.WORKFLOW_FAILED.value,
    "workflow_id": "wf",
    "workflow_version": "v1",
    "target_resource": "ns/deployment/app",
    "phase": "Failed",
    "container_image": "ghcr.io/x/y:v1",
    "execution_name": "wfe-1",
}
REQUEST = {
    "version": "1.0",
    "event_type": AuditEventType.WORKFLOW_FAILED.value,
    "event_timestamp": "2026-01-20T10:00:00Z",
    "event_category": "workflowexecution",
    "event_action": "failed",
    "event_outcome": "failure",
    "correlation_id": "rr-1",
    "event_data": PAYLOAD,
}


def test_a_valid_request_parses_into_the_union_member() -> None:
    request = models.AuditEventRequest.model_validate(REQUEST)
    assert isinstance(request.event_data, models.WorkflowExecutionAuditPayload)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"event_data": {**PAYLOAD, "event_type": "gateway.signal.received"}}, "event_data"),
        ({"event_data": {**PAYLOAD, "event_type": "workflow.failed"}}, "event_data"),
        ({"event_data": {k: v for k, v in PAYLOAD.items() if k != "event_type"}}, "event_data"),
        ({"event_data": {**PAYLOAD, "phase": ""}}, f"event_data.{PAYLOAD['event_type']}.phase"),
        ({"event_data": {**PAYLOAD, "failure_reason": "RaceConditionError"}}, "event_data"),
        ({"event_data": {**PAYLOAD, "parameters": {"A": 1}}}, "event_data"),
        ({"event_data": {**PAYLOAD, "retry_count": "two"}}, "event_data"),
        ({"event_category": "execution"}, "event_category"),
        ({"event_outcome": "ok"}, "event_outcome"),
        ({"correlation_id": ""}, "correlation_id"),
        ({"event_timestamp": "2026-01-20T10:00:00"}, "event_timestamp"),
        ({"version": "x" * 21}, "version"),
    ],
)
def test_invalid_requests_are_rejected_naming_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        models.AuditEventRequest.model_validate({**REQUEST, **change})
    locations = [".".join(str(part) for part in error["loc"]) for error in caught.value.errors()]
    assert any(location.startswith(field) for location in locations), locations
