"""Core v1 Events built about an object."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kubernaut_wfe.adapters.kube_events import (
    EVENT_MESSAGE_LIMIT,
    build_event,
    event_name,
    truncate_message,
)
from kubernaut_wfe.constants import API_VERSION, KIND, EventReason, EventType

WFE: dict[str, Any] = {
    "apiVersion": API_VERSION,
    "kind": KIND,
    "metadata": {"name": "wfe-1", "namespace": "team-a", "uid": "u-1", "resourceVersion": "42"},
}
NOW = datetime(2026, 11, 25, 22, 0, 0, tzinfo=UTC)


def event(
    involved: dict[str, Any], message: str = "m", action: str | None = None
) -> dict[str, Any]:
    return build_event(
        involved,
        type=EventType.WARNING,
        reason=EventReason.WORKFLOW_FAILED,
        message=message,
        action=action,
        component="workflowexecution-controller",
        instance="pod-0",
        now=NOW,
        suffix="00ff",
    )


def test_event_about_a_namespaced_object() -> None:
    assert event(WFE, action="Reconcile") == {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "wfe-1.00ff", "namespace": "team-a"},
        "involvedObject": {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "name": "wfe-1",
            "namespace": "team-a",
            "uid": "u-1",
            "resourceVersion": "42",
        },
        "type": "Warning",
        "reason": "WorkflowFailed",
        "message": "m",
        "action": "Reconcile",
        "source": {"component": "workflowexecution-controller"},
        "reportingComponent": "workflowexecution-controller",
        "reportingInstance": "pod-0",
        "firstTimestamp": "2026-11-25T22:00:00Z",
        "lastTimestamp": "2026-11-25T22:00:00Z",
        "count": 1,
    }


def test_events_about_cluster_scoped_objects_go_to_default() -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "x.y"},
    }
    built = event(crd)
    assert built["metadata"]["namespace"] == "default"
    assert "namespace" not in built["involvedObject"]
    assert "action" not in built


def test_an_object_without_name_is_refused() -> None:
    with pytest.raises(ValueError, match=r"metadata\.name"):
        event({"metadata": {}})


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("short", "short"),
        ("x" * EVENT_MESSAGE_LIMIT, "x" * EVENT_MESSAGE_LIMIT),
        ("x" * (EVENT_MESSAGE_LIMIT + 1), "x" * (EVENT_MESSAGE_LIMIT - 3) + "..."),
        # A 2-byte character is never cut in half.
        ("é" * EVENT_MESSAGE_LIMIT, "é" * ((EVENT_MESSAGE_LIMIT - 3) // 2) + "..."),
    ],
)
def test_messages_are_cut_to_the_byte_limit(message: str, expected: str) -> None:
    truncated = truncate_message(message)
    assert truncated == expected
    assert len(truncated.encode("utf-8")) <= EVENT_MESSAGE_LIMIT


def test_event_names_stay_valid_for_long_object_names() -> None:
    # 253 - len(".0123456789abcdef") = 236 characters of the object's name fit: "a" * 235 + "-",
    # and a label may not end with "-".
    name = event_name("a" * 235 + "-bbbb", "0123456789abcdef")
    assert name == "a" * 235 + ".0123456789abcdef"
    assert event_name("wfe-1", "ff") == "wfe-1.ff"
