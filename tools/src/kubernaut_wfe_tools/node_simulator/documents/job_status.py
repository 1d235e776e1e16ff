"""The status the Job controller writes on a Job (conditions, counters, the pods it has not
counted yet), rendered as Kubernetes v1.36 renders a `JobStatus`, and the Events it posts on the
Job. Pure."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kubernaut_wfe.constants import ConditionStatus, EventType
from kubernaut_wfe_tools.node_simulator.vocabulary import (
    BATCH_API_VERSION,
    JOB_CONTROLLER_COMPONENT,
    JOB_KIND,
    JobConditionType,
)
from kubernaut_wfe_tools.tekton_simulator.durations import rfc3339

Document = dict[str, Any]
_TERMINAL = (JobConditionType.COMPLETE.value, JobConditionType.FAILED.value)


@dataclass(frozen=True)
class JobEvent:
    """An Event the Job controller posts on the Job."""

    type: EventType
    reason: str
    message: str


def is_finished(job: Mapping[str, Any]) -> bool:
    """`Complete` or `Failed` is True: the Job controller leaves the Job alone."""
    return any(
        c.get("type") in _TERMINAL and c.get("status") == ConditionStatus.TRUE.value
        for c in (job.get("status") or {}).get("conditions") or []
    )


def condition(
    kind: str,
    reason: str,
    message: str,
    now: datetime,
    status: ConditionStatus = ConditionStatus.TRUE,
) -> Document:
    """A Job condition as the Job controller makes one: probed and changed at `now`."""
    moment = rfc3339(now)
    return {
        "type": str(kind),
        "status": status.value,
        "lastProbeTime": moment,
        "lastTransitionTime": moment,
        "reason": str(reason),
        "message": message,
    }


def find_condition(conditions: Sequence[Mapping[str, Any]], kind: str) -> Mapping[str, Any] | None:
    return next((c for c in conditions if c.get("type") == kind), None)


def is_true(conditions: Sequence[Mapping[str, Any]], kind: str) -> Mapping[str, Any] | None:
    """The condition of that type when it is True."""
    found = find_condition(conditions, kind)
    return found if found and found.get("status") == ConditionStatus.TRUE.value else None


def ensure_condition(conditions: list[Document], new: Document) -> bool:
    """Put `new` in place of the condition of its type unless that one already says the same
    (status, reason, message); a False condition is only ever a change of an existing one.
    Whether anything changed."""
    for index, existing in enumerate(conditions):
        if existing.get("type") == new["type"]:
            said = (existing.get("status"), existing.get("reason"), existing.get("message"))
            if said == (new["status"], new["reason"], new["message"]):
                return False
            conditions[index] = new
            return True
    if new["status"] == ConditionStatus.FALSE.value:
        return False
    conditions.append(new)
    return True


@dataclass
class JobCounts:
    """A Job's status as one sync rebuilds it."""

    conditions: list[Document]
    start: str | None
    completion: str | None
    active: int
    succeeded: int
    failed: int
    terminating: int
    ready: int
    uncounted_succeeded: list[str]
    uncounted_failed: list[str]

    @classmethod
    def read(cls, status: Mapping[str, Any]) -> JobCounts:
        """The counts as the Job shows them (`active`, `ready` and `terminating` are the sync's
        own to count)."""
        uncounted = status.get("uncountedTerminatedPods") or {}
        return cls(
            conditions=copy.deepcopy(list(status.get("conditions") or [])),
            start=status.get("startTime"),
            completion=status.get("completionTime"),
            active=0,
            succeeded=int(status.get("succeeded") or 0),
            failed=int(status.get("failed") or 0),
            terminating=0,
            ready=0,
            uncounted_succeeded=list(uncounted.get("succeeded") or []),
            uncounted_failed=list(uncounted.get("failed") or []),
        )

    def all_counted(self) -> bool:
        return not self.uncounted_succeeded and not self.uncounted_failed

    def count_released(self, still_tracked: set[str]) -> bool:
        """Move the uncounted pods that no longer carry the tracking finalizer into the
        counters; whether any moved."""
        succeeded = [uid for uid in self.uncounted_succeeded if uid in still_tracked]
        failed = [uid for uid in self.uncounted_failed if uid in still_tracked]
        moved_succeeded = len(self.uncounted_succeeded) - len(succeeded)
        moved_failed = len(self.uncounted_failed) - len(failed)
        self.succeeded += moved_succeeded
        self.failed += moved_failed
        self.uncounted_succeeded, self.uncounted_failed = succeeded, failed
        return bool(moved_succeeded or moved_failed)

    def document(self) -> Document:
        """The status as the Job controller writes it (Go's field order; zero counters, unset
        times and empty lists left out; `terminating`, `ready` and `uncountedTerminatedPods`
        always there)."""
        status: Document = {}
        if self.conditions:
            status["conditions"] = copy.deepcopy(self.conditions)
        for key, moment in (("startTime", self.start), ("completionTime", self.completion)):
            if moment:
                status[key] = moment
        for key, number in (
            ("active", self.active),
            ("succeeded", self.succeeded),
            ("failed", self.failed),
        ):
            if number:
                status[key] = number
        status["terminating"] = self.terminating
        uncounted: Document = {}
        if self.uncounted_succeeded:
            uncounted["succeeded"] = list(self.uncounted_succeeded)
        if self.uncounted_failed:
            uncounted["failed"] = list(self.uncounted_failed)
        status["uncountedTerminatedPods"] = uncounted
        status["ready"] = self.ready
        return status


def event_object(job: Mapping[str, Any], event: JobEvent, *, name: str, at: datetime) -> Document:
    """The Event to create about the Job, from the Job controller."""
    meta = job["metadata"]
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": meta["namespace"]},
        "involvedObject": {
            "apiVersion": BATCH_API_VERSION,
            "kind": JOB_KIND,
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta["uid"],
            "resourceVersion": meta.get("resourceVersion", ""),
        },
        "reason": event.reason,
        "message": event.message,
        "source": {"component": JOB_CONTROLLER_COMPONENT},
        "firstTimestamp": rfc3339(at),
        "lastTimestamp": rfc3339(at),
        "count": 1,
        "type": event.type.value,
        "eventTime": None,
        "reportingComponent": JOB_CONTROLLER_COMPONENT,
        "reportingInstance": "",
    }
