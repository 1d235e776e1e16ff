"""One sync of a Job by Kubernetes v1.36's Job controller (`syncJob`, `manageJob` and
`trackJobStatusAndRemoveFinalizers` of `pkg/controller/job`), for non-indexed Jobs: what it
deletes and creates, the statuses it writes and the Events it posts. Pure.

A Job ends in two steps, as the API server's validation demands: the interim condition
(`SuccessCriteriaMet`, `FailureTarget`) with the finished pods in `uncountedTerminatedPods`, then,
once their tracking finalizers are off and no pod is terminating, the terminal condition
(`Complete` with `completionTime`, or `Failed`) with the same reason and message. When a Job
fails its active pods are deleted and counted as failed; a suspended Job's pods are deleted
uncounted; a pod the pod failure policy ignores is replaced (after the back-off) and counted
nowhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from kubernaut_wfe.constants import ConditionStatus, EventType
from kubernaut_wfe_tools.node_simulator import messages
from kubernaut_wfe_tools.node_simulator.documents import job_pods
from kubernaut_wfe_tools.node_simulator.documents.job_pods import Backoff
from kubernaut_wfe_tools.node_simulator.documents.job_status import (
    Document,
    JobCounts,
    JobEvent,
    condition,
    ensure_condition,
    is_true,
)
from kubernaut_wfe_tools.node_simulator.vocabulary import (
    JobConditionReason,
    JobConditionType,
    JobEventReason,
    PodPhase,
)
from kubernaut_wfe_tools.tekton_simulator.durations import parse_rfc3339, rfc3339

Pod = Mapping[str, Any]


@dataclass(frozen=True)
class JobSync:
    """What one sync does, in this order: delete pods (their tracking finalizer taken off first
    when they are not to be counted), create pods, write `first_status`, take the finalizer off
    the `release`d pods, write `final_status`, post `events`; then sync again after
    `sync_again_in` (the deadline, the back-off) if nothing else woke the Job before."""

    delete: tuple[Pod, ...] = ()
    release_before_delete: bool = False
    create: int = 0
    first_status: Document | None = None
    release: tuple[Pod, ...] = ()
    final_status: Document | None = None
    events: tuple[JobEvent, ...] = ()
    backoff: Backoff = field(default_factory=Backoff)
    sync_again_in: timedelta | None = None


def sync_job(
    job: Mapping[str, Any], pods: Sequence[Pod], now: datetime, backoff: Backoff
) -> JobSync:
    """The sync at `now` of `job` (not finished) and `pods` (those it controls); `backoff` is what
    the earlier syncs learnt of its failed pods."""
    return _Sync(job, pods, now, backoff).run()


def _uid(pod: Pod) -> str:
    return str(job_pods.metadata(pod).get("uid"))


class _Sync:
    def __init__(
        self, job: Mapping[str, Any], pods: Sequence[Pod], now: datetime, backoff: Backoff
    ) -> None:
        self.job, self.pods, self.now = job, pods, now
        self.spec: Mapping[str, Any] = job.get("spec") or {}
        self.status: Mapping[str, Any] = job.get("status") or {}
        self.counts = JobCounts.read(self.status)
        self.active = [pod for pod in pods if job_pods.is_active(pod)]
        self.tracked = [pod for pod in pods if job_pods.is_tracked(pod)]
        self.counts.active = len(self.active)
        self.counts.ready = sum(map(job_pods.is_ready, self.active))
        self.counts.terminating = sum(map(job_pods.is_terminating, pods))
        self.suspended = bool(self.spec.get("suspend"))
        self.deleting = bool(job_pods.metadata(job).get("deletionTimestamp"))
        new_succeeded = [
            pod
            for pod in self.tracked
            if _uid(pod) not in self.counts.uncounted_succeeded
            and job_pods.phase(pod) == PodPhase.SUCCEEDED.value
        ]
        new_failed = [
            pod
            for pod in self.tracked
            if _uid(pod) not in self.counts.uncounted_failed and job_pods.is_failed(pod, self.spec)
        ]
        self.succeeded = (
            self.counts.succeeded + len(new_succeeded) + len(self.counts.uncounted_succeeded)
        )
        self.failed = (
            self.counts.failed
            + sum(1 for pod in new_failed if job_pods.policy_verdict(self.spec, pod).counts)
            + len(self.counts.uncounted_failed)
        )
        self.backoff = backoff.after(new_succeeded, new_failed)
        self.sync_again: timedelta | None = None
        self.events: list[JobEvent] = []

    def run(self) -> JobSync:
        if self.counts.start is None and not self.suspended:
            self.counts.start = rfc3339(self.now)
        finishing = self._failure()
        delete: list[Pod] = []
        release_first, create, suspension_changed = False, 0, False
        if finishing is not None:
            delete = self.active
            self.counts.active -= len(delete)
        else:
            if not self.deleting:
                delete, release_first, create = self._manage()
                self.counts.active += create - len(delete)
            if self._complete():
                finishing = condition(
                    JobConditionType.SUCCESS_CRITERIA_MET,
                    JobConditionReason.COMPLETIONS_REACHED,
                    messages.REACHED_COMPLETIONS,
                    self.now,
                )
            elif not self.deleting:
                suspension_changed = self._mark_suspension()
        self.counts.terminating += len(delete)
        self.counts.ready -= sum(map(job_pods.is_ready, delete))
        changed = suspension_changed or (
            self.counts.active,
            self.counts.ready,
            self.counts.terminating,
        ) != (
            int(self.status.get("active") or 0),
            self.status.get("ready"),
            self.status.get("terminating"),
        )
        return self._track(tuple(delete), release_first, create, finishing, changed)

    def _failure(self) -> Document | None:
        """How the Job is to end before anything is done: as it was already ending, or failed."""
        conditions = self.counts.conditions
        if met := is_true(conditions, JobConditionType.SUCCESS_CRITERIA_MET):
            return dict(met)
        if target := is_true(conditions, JobConditionType.FAILURE_TARGET):
            reason, message = str(target.get("reason")), str(target.get("message"))
            return condition(JobConditionType.FAILED, reason, message, self.now)
        for pod in self.pods:
            verdict = job_pods.policy_verdict(self.spec, pod)
            if job_pods.is_failed(pod, self.spec) and verdict.fails_job:
                reason = JobConditionReason.POD_FAILURE_POLICY
                return condition(
                    JobConditionType.FAILURE_TARGET, reason, verdict.fails_job, self.now
                )
        if self.failed > int(self.spec.get("backoffLimit", 6)):
            return condition(
                JobConditionType.FAILURE_TARGET,
                JobConditionReason.BACKOFF_LIMIT_EXCEEDED,
                messages.BACKOFF_LIMIT_REACHED,
                self.now,
            )
        deadline = self.spec.get("activeDeadlineSeconds")
        if deadline is None or self.suspended or not self.counts.start:
            return None
        due = parse_rfc3339(self.counts.start) + timedelta(seconds=int(deadline))
        if self.now < due:
            self.sync_again = due - self.now
            return None
        return condition(
            JobConditionType.FAILURE_TARGET,
            JobConditionReason.DEADLINE_EXCEEDED,
            messages.ACTIVE_TOO_LONG,
            self.now,
        )

    def _manage(self) -> tuple[list[Pod], bool, int]:
        """(pods to delete uncounted, whether their finalizer goes first, pods to create)."""
        if self.suspended:
            return self.active, True, 0
        wanted = self._wanted()
        if len(self.active) > wanted:
            return self.active[wanted:], True, 0
        missing = wanted - self.counts.terminating - len(self.active)
        if missing <= 0:
            return [], False, 0
        wait = self.backoff.remaining(self.now)
        if wait > timedelta(0):
            self.sync_again = wait if self.sync_again is None else min(self.sync_again, wait)
            return [], False, 0
        return [], False, missing

    def _wanted(self) -> int:
        parallelism = int(self.spec.get("parallelism", 1))
        completions = self.spec.get("completions")
        if completions is None:
            return 0 if self.succeeded > 0 else parallelism
        return max(min(int(completions) - self.succeeded, parallelism), 0)

    def _complete(self) -> bool:
        completions = self.spec.get("completions")
        reached = self.succeeded > 0 if completions is None else self.succeeded >= int(completions)
        return reached and self.counts.active == 0

    def _mark_suspension(self) -> bool:
        """`Suspended` True (the start time forgotten) or, once resumed, False (started anew)."""
        if self.suspended:
            reason, message = JobConditionReason.JOB_SUSPENDED, messages.JOB_SUSPENDED
            status, event = ConditionStatus.TRUE, JobEventReason.SUSPENDED
        else:
            reason, message = JobConditionReason.JOB_RESUMED, messages.JOB_RESUMED
            status, event = ConditionStatus.FALSE, JobEventReason.RESUMED
        new = condition(JobConditionType.SUSPENDED, reason, message, self.now, status)
        if not ensure_condition(self.counts.conditions, new):
            return False
        self.events.append(JobEvent(EventType.NORMAL, event, message))
        self.counts.start = None if self.suspended else rfc3339(self.now)
        return True

    def _track(
        self,
        delete: tuple[Pod, ...],
        release_first: bool,
        create: int,
        finishing: Document | None,
        needs_flush: bool,
    ) -> JobSync:
        """Count the finished pods (first in `uncountedTerminatedPods`, then, their finalizers
        off, in the counters) and end the Job once nothing is left to count or terminate."""
        counts = self.counts
        still_tracked = {_uid(pod) for pod in self.tracked}
        needs_flush = counts.count_released(still_tracked) or needs_flush
        release = [pod for pod in self.tracked if self._releasable(pod, finishing)]
        for pod in release:
            needs_flush = self._count(pod, finishing) or needs_flush
        if finishing is not None and finishing["type"] == JobConditionType.FAILURE_TARGET:
            counts.conditions.append(finishing)
            needs_flush = True
            finishing = condition(
                JobConditionType.FAILED, finishing["reason"], finishing["message"], self.now
            )
        if finishing is not None and finishing["type"] == JobConditionType.SUCCESS_CRITERIA_MET:
            if not is_true(counts.conditions, JobConditionType.SUCCESS_CRITERIA_MET):
                counts.conditions.append(finishing)
                needs_flush = True
            finishing = condition(
                JobConditionType.COMPLETE, finishing["reason"], finishing["message"], self.now
            )
        first = counts.document() if needs_flush else None
        needs_flush = counts.count_released(still_tracked - {_uid(pod) for pod in release})
        if finishing is not None and counts.all_counted() and counts.terminating == 0:
            ensure_condition(counts.conditions, finishing)
            if finishing["type"] == JobConditionType.COMPLETE:
                counts.completion = finishing["lastTransitionTime"]
                ended = JobEvent(EventType.NORMAL, JobEventReason.COMPLETED, messages.JOB_COMPLETED)
            else:
                ended = JobEvent(EventType.WARNING, finishing["reason"], finishing["message"])
            self.events.append(ended)
            needs_flush = True
        return JobSync(
            delete=delete,
            release_before_delete=release_first,
            create=create,
            first_status=first,
            release=tuple(release),
            final_status=counts.document() if needs_flush else None,
            events=tuple(self.events),
            backoff=self.backoff,
            sync_again_in=self.sync_again,
        )

    def _releasable(self, pod: Pod, finishing: Document | None) -> bool:
        """The pod's finalizer may go: the Job ends or is deleted, or the pod finished."""
        if self.deleting or finishing is not None:
            return True
        return job_pods.phase(pod) == PodPhase.SUCCEEDED.value or job_pods.is_failed(pod, self.spec)

    def _count(self, pod: Pod, finishing: Document | None) -> bool:
        """Put a released pod among the uncounted succeeded or failed ones (a failure the pod
        failure policy ignores nowhere); whether the status changed."""
        counts, uid = self.counts, _uid(pod)
        if job_pods.phase(pod) == PodPhase.SUCCEEDED.value and uid not in counts.uncounted_failed:
            if uid in counts.uncounted_succeeded:
                return False
            counts.uncounted_succeeded.append(uid)
            return True
        failing = finishing is not None and finishing["type"] != (
            JobConditionType.SUCCESS_CRITERIA_MET
        )
        counted = uid in counts.uncounted_failed
        if counted or not (job_pods.is_failed(pod, self.spec) or failing):
            return False
        if not job_pods.policy_verdict(self.spec, pod).counts:
            return False
        counts.uncounted_failed.append(uid)
        return True
