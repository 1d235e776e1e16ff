"""The controller's Prometheus metrics, on one registry per operator instance (spec §7)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from kubernaut_wfe.core.actions import Outcome

DURATION_BUCKETS = (5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0)


class ControllerMetrics:
    """Reconcile outcomes, run durations, PipelineRun creations, errors, rejected writes,
    dropped Events."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.reconciles = Counter(
            "workflowexecution_reconciler_total",
            "WorkflowExecutions that reached a terminal phase, by outcome.",
            ["outcome"],
            registry=self.registry,
        )
        self.durations = Histogram(
            "workflowexecution_reconciler_duration_seconds",
            "Run time of WorkflowExecutions from start to terminal phase, by outcome.",
            ["outcome"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.creations = Counter(
            "workflowexecution_reconciler_pipelinerun_creations_total",
            "PipelineRuns created by the controller.",
            registry=self.registry,
        )
        self.errors = Counter(
            "workflowexecution_reconciler_errors_total",
            "Reconciles that ended in an error and were retried with backoff.",
            registry=self.registry,
        )
        self.rejected_status_writes = Counter(
            "workflowexecution_reconciler_status_writes_rejected_total",
            "Status writes the API server rejected as invalid.",
            registry=self.registry,
        )
        self.events_dropped = Counter(
            "workflowexecution_controller_events_dropped_total",
            "Kubernetes Events dropped because the Event queue was full or the controller"
            " was stopping.",
            registry=self.registry,
        )
        self.leader = Gauge(
            "workflowexecution_controller_leader",
            "1 while this instance holds the leader Lease (or runs without leader election).",
            registry=self.registry,
        )

    def record_outcome(self, outcome: Outcome) -> None:
        """Count a terminal outcome and, when known, the run's duration."""
        self.reconciles.labels(outcome=outcome.phase.value).inc()
        if outcome.duration_seconds is not None:
            self.durations.labels(outcome=outcome.phase.value).observe(outcome.duration_seconds)
