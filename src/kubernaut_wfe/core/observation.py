"""What the handler read or did before asking the core for a decision."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Final

from kubernaut_wfe.constants import AuditEventType
from kubernaut_wfe.core.targets import TargetResolution


class _Unread(Enum):
    UNREAD = "unread"


UNREAD: Final = _Unread.UNREAD
"""Marks an object the handler has not read yet (distinct from None, which means absent)."""

Unread = _Unread


@dataclass(frozen=True)
class ApiFailure:
    """An API call that failed: HTTP status (0 when no answer came) and the server's message."""

    status: int
    message: str = ""

    @property
    def transient(self) -> bool:
        """5xx, 429 and no answer at all are worth retrying."""
        return self.status in {0, 429} or self.status >= 500


@dataclass(frozen=True)
class Created:
    """CREATE of the PipelineRun succeeded; `run` is the server's answer."""

    run: Mapping[str, Any]


@dataclass(frozen=True)
class AlreadyExists:
    """CREATE answered 409: someone else holds the name; re-read it."""


@dataclass(frozen=True)
class CreateRejected:
    """CREATE failed; `attempt` counts attempts so far for this WFE (1 for the first)."""

    failure: ApiFailure
    attempt: int = 1


CreateOutcome = Created | AlreadyExists | CreateRejected


@dataclass(frozen=True)
class ReadFailed:
    """A GET that failed; `attempt` counts this WFE's failures of it in a row (1 for the first)."""

    failure: ApiFailure
    attempt: int = 1


@dataclass(frozen=True)
class DeleteOutcome:
    """Answer to DELETE of a run: 200/202 deleted, 404 gone, 409/412 precondition failed."""

    status: int

    @property
    def deleted(self) -> bool:
        return self.status in (200, 202)


@dataclass(frozen=True)
class AuditWait:
    """A deleted WFE's due audit events were handed to delivery at `since` (by this process:
    a restarted controller hands them over, and waits, again); `pending` are the WFE's events
    delivery has not resolved (acknowledged or rejected) yet."""

    since: datetime
    pending: frozenset[AuditEventType] = frozenset()


@dataclass(frozen=True)
class Observation:
    """Everything the handler knows for this decision.

    - `run`: the run (PipelineRun or Job) by its deterministic name: UNREAD, None (404) or the
      document.
    - `run_error`: set instead when the GET itself failed.
    - `holder`: the WFE named by another WFE's run annotation: UNREAD, None (404) or the document.
    - `taskruns`: the run's child TaskRuns (None = not read).
    - `pods` / `run_events`: a Job's pods and the Warning Events about the Job and its pods,
      as the watches delivered them (None = not known).
    - `waiting_ahead`: `<namespace>/<name>` of WFEs on the same target that are waiting
      (Pending with `ResourceLocked` True) and come first (older creationTimestamp, then name).
    - `create` / `delete`: the outcome of the action the previous decision asked for.
    - `target`: the WFE's target resolved through API discovery (`core.targets`): the canonical
      target the lock is named after, or why it cannot be locked. None: not resolved (no API to
      ask), the target as written is the lock.
    - `audit_wait`: for a deleted WFE, its due audit events' hand-over to delivery (None: not
      handed over yet).
    - `service_account`: whether the ServiceAccount the catalog snapshot names exists in the
      execution namespace (`core.run_identity`): UNREAD, True, False (404), or the failed GET.
    """

    run: Mapping[str, Any] | Unread | None = UNREAD
    run_error: ApiFailure | None = None
    holder: Mapping[str, Any] | Unread | None = UNREAD
    taskruns: Sequence[Mapping[str, Any]] | None = None
    pods: Sequence[Mapping[str, Any]] | None = None
    run_events: Sequence[Mapping[str, Any]] | None = None
    waiting_ahead: tuple[str, ...] = ()
    create: CreateOutcome | None = None
    delete: DeleteOutcome | None = None
    target: TargetResolution | None = None
    audit_wait: AuditWait | None = None
    service_account: bool | ReadFailed | Unread = UNREAD
