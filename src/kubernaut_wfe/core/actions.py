"""The decision the core hands back: a status to write, Events, actions for the handler."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from kubernaut_wfe.constants import AuditEventType, EventReason, EventType, Phase, RunKind
from kubernaut_wfe.core import tekton
from kubernaut_wfe.core.conditions import truncate
from kubernaut_wfe.core.models import WorkflowExecutionStatus

EVENT_MESSAGE_MAX = 1024
MAX_BACKOFF = timedelta(minutes=5)


@dataclass(frozen=True)
class KubeEvent:
    """A Kubernetes Event to post on the WFE."""

    reason: EventReason
    type: EventType
    message: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", truncate(self.message, EVENT_MESSAGE_MAX))


@dataclass(frozen=True)
class ReadRun:
    """GET the run (a PipelineRun or a Job) by name, then decide again."""

    namespace: str
    name: str
    kind: RunKind = RunKind.PIPELINE_RUN


@dataclass(frozen=True)
class ReadLock:
    """GET the runs of every kind at the target's lock name, then decide again with the one
    found (`Observation.run`): a run of either engine holds the target."""

    namespace: str
    name: str
    kind: RunKind = RunKind.PIPELINE_RUN
    """The WFE's own kind: when both exist (never by this controller), that one is observed."""


@dataclass(frozen=True)
class ReadHolder:
    """GET the WFE that holds the target, then decide again."""

    namespace: str
    name: str


@dataclass(frozen=True)
class ReadServiceAccount:
    """GET the ServiceAccount the run is to run as (`core.run_identity`), then decide again."""

    namespace: str
    name: str


@dataclass(frozen=True)
class ReadTaskRuns:
    """List the run's child TaskRuns, then decide again."""

    namespace: str
    pipelinerun: str


@dataclass(frozen=True)
class ReadJobPods:
    """List the Job's pods, then decide again."""

    namespace: str
    job: str


@dataclass(frozen=True)
class CreateRun:
    """CREATE this PipelineRun, then decide again with the outcome."""

    body: Mapping[str, Any]


@dataclass(frozen=True)
class DeleteRun:
    """DELETE the run with uid and resourceVersion preconditions (a Job with its pods), then
    decide again."""

    namespace: str
    name: str
    uid: str
    resource_version: str
    kind: RunKind = RunKind.PIPELINE_RUN


@dataclass(frozen=True)
class RestoreRunMetadata:
    """Merge-patch these labels and annotations back onto our own run, then decide again: a run
    someone took out of the watch's label selection would no longer be followed, and one whose
    ownership annotations were changed would look like another WFE's lock to the others."""

    namespace: str
    name: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str] = field(default_factory=dict)
    kind: RunKind = RunKind.PIPELINE_RUN


@dataclass(frozen=True)
class CancelRun:
    """Stop our run, then decide again: a PipelineRun's `spec.status` becomes `Cancelled`
    (Tekton stops it); a Job is suspended (the Job controller deletes its pods, and the Job
    keeps holding the target until the cooldown ends)."""

    namespace: str
    name: str
    kind: RunKind = RunKind.PIPELINE_RUN


@dataclass(frozen=True)
class RecordExecution:
    """Write the WFE's execution record annotation (`core.record`), then decide again."""

    annotations: Mapping[str, str]


@dataclass(frozen=True)
class Requeue:
    """Reconcile again after this delay (cooldown end, lock release, backoff, the end of a
    deleted WFE's wait for its audit events)."""

    after: timedelta
    why: str


@dataclass(frozen=True)
class AddFinalizer:
    """Add the controller's finalizer to the WFE, then decide again."""


@dataclass(frozen=True)
class AwaitAudit:
    """Hand the decision's `audit` events to delivery and start waiting for DataStorage to
    acknowledge them, then decide again (with `Observation.audit_wait`)."""


@dataclass(frozen=True)
class RemoveFinalizer:
    """Remove the finalizer. `unacknowledged`: due audit events DataStorage has not acknowledged
    within the wait (delivery still sends them; the WFE no longer waits)."""

    unacknowledged: tuple[AuditEventType, ...] = ()


Action = (
    ReadRun
    | ReadLock
    | ReadHolder
    | ReadServiceAccount
    | ReadTaskRuns
    | ReadJobPods
    | CreateRun
    | RestoreRunMetadata
    | CancelRun
    | RecordExecution
    | DeleteRun
    | Requeue
    | AddFinalizer
    | AwaitAudit
    | RemoveFinalizer
)


@dataclass(frozen=True)
class Outcome:
    """What the metrics record: the terminal phase reached and the run's duration."""

    phase: Phase
    duration_seconds: float | None = None


@dataclass(frozen=True)
class Decision:
    """The result of one decision. The handler writes `status` (one write), posts `events`,
    executes `actions` in order and counts `outcome`; the audit events a status makes due
    follow from the status written (`core.audit.undelivered_audit_events`)."""

    status: WorkflowExecutionStatus | None = None
    events: tuple[KubeEvent, ...] = ()
    actions: tuple[Action, ...] = ()
    outcome: Outcome | None = None
    notes: tuple[str, ...] = field(default=())
    """Log lines explaining the decision (for the handler's logger)."""


def backoff(attempt: int, base: timedelta = timedelta(seconds=1)) -> timedelta:
    """The `Requeue` delay for `attempt` (1, 2, 4 … seconds), capped at five minutes."""
    factor: int = 2 ** min(max(0, attempt - 1), 20)
    return min(MAX_BACKOFF, base * factor)


CONFLICT_BACKOFF_BASE = timedelta(milliseconds=100)
CONFLICT_BACKOFF_CAP = timedelta(seconds=30)


def conflict_delay(conflicts: int) -> timedelta:
    """When to reconcile again after the `conflicts`-th write in a row that met a newer object
    (409): at once after the first (a lost race: the re-read object is the news), then 0.1,
    0.2, 0.4 … s up to 30 s, so a write that keeps conflicting (another writer fighting, an API
    that answers 409) is never a hot loop."""
    if conflicts <= 1:
        return timedelta(0)
    return min(CONFLICT_BACKOFF_CAP, backoff(conflicts - 1, base=CONFLICT_BACKOFF_BASE))


def kind_of_run(run: tekton.Document) -> RunKind:
    """The kind of a run document (a PipelineRun when it does not say)."""
    return RunKind.JOB if run.get("kind") == RunKind.JOB else RunKind.PIPELINE_RUN


def delete_run_as_read(run: tekton.Document, why: str) -> Decision:
    """DELETE `run` only in the state it was read in (uid and resourceVersion preconditions)."""
    meta = tekton.metadata(run)
    return Decision(
        actions=(
            DeleteRun(
                namespace=str(meta.get("namespace") or ""),
                name=str(meta.get("name") or ""),
                uid=str(meta.get("uid") or ""),
                resource_version=str(meta.get("resourceVersion") or ""),
                kind=kind_of_run(run),
            ),
        ),
        notes=(why,),
    )
