"""Prometheus metrics of audit delivery, registered on an injected registry."""

from __future__ import annotations

from enum import StrEnum

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class AuditResult(StrEnum):
    """The `result` label of `workflowexecution_audit_events_total`."""

    ENQUEUED = "enqueued"
    DELIVERED = "delivered"
    RETRIED = "retried"
    REJECTED = "rejected"
    DEDUPLICATED = "deduplicated"
    """Found already stored by the query API, so not sent (again)."""
    DROPPED = "dropped"
    """The buffer was full; the event stays due and is re-derived at the next resync."""


class BatchOutcome(StrEnum):
    """The `outcome` label of `workflowexecution_audit_batch_duration_seconds`."""

    CREATED = "created"
    REJECTED = "rejected"
    UNAVAILABLE = "unavailable"
    AMBIGUOUS = "ambiguous"


class AuditDeliveryMetrics:
    """The counters, gauge and histogram of one `AuditDelivery`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.events = Counter(
            "workflowexecution_audit_events",
            "Audit events by what happened to them.",
            ["result"],
            registry=registry,
        )
        self.buffer_depth = Gauge(
            "workflowexecution_audit_buffer_depth",
            "Audit events accepted for delivery and not yet acknowledged or rejected.",
            registry=registry,
        )
        self.batch_duration = Histogram(
            "workflowexecution_audit_batch_duration_seconds",
            "Duration of one batch POST to DataStorage, by outcome.",
            ["outcome"],
            registry=registry,
        )
        for result in AuditResult:
            self.events.labels(result=result.value)

    def count(self, result: AuditResult, amount: int = 1) -> None:
        """Add `amount` events to the `result` counter."""
        if amount:
            self.events.labels(result=result.value).inc(amount)
