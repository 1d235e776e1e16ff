"""What a Job, its pods and their Events say about a `job` engine run (job-engine.md §5, §9),
classified through the same `FailureReason` as Tekton runs. Pure.

Documents are plain mappings as the API returns them and may be malformed: nothing here raises,
and what cannot be read counts as unknown. Upstream reads the Job's conditions only, so every
failure is `Unknown` and a workflow that cannot start waits for its deadline. Here:
- the failed pod says why: `OOMKilled`, or `TaskFailed` with the exit code and the container's
  termination message; a deadline is `DeadlineExceeded`;
- a pod that cannot start (image pull back-off, a container the kubelet cannot configure, a
  missing Secret or ConfigMap), or an API server that refuses the pod for good (a quota, a
  runner ServiceAccount that does not exist, Pod Security), ends the run at once
  instead of holding the target until the deadline;
- `was_execution_failure` is true only when the workflow's container really started;
- the lock name is reused, so pods and Events of an earlier Job of the same name are told apart
  from this Job's by uid, where the documents carry one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kubernaut_wfe.constants import (
    EXCEEDED_QUOTA_TEXT,
    FAILED_TO_PULL_IMAGE_TEXT,
    IS_FORBIDDEN_TEXT,
    JOB_CONTAINER_NAME,
    JOB_KIND,
    KUBELET_ERROR_PREFIX,
    POD_KIND,
    SERVICE_ACCOUNT_LOOKUP_TEXT,
    ConditionStatus,
    ContainerReason,
    FailureReason,
    JobConditionReason,
    JobConditionType,
    KubeEventReason,
    PodPhase,
    StepReason,
)
from kubernaut_wfe.core.dependencies import missing_objects_named
from kubernaut_wfe.core.kubedocs import (
    count,
    created_at,
    created_by,
    documents,
    exit_code,
    has_started,
    involves,
    is_disrupted,
    mapping,
    memory_limit,
    newest,
    phase,
    state,
    text,
    time_of,
    uid_of,
    unfinished,
    warnings,
    workflow_container,
)
from kubernaut_wfe.core.tekton import Document, metadata, name_of, status

_PULL_REASONS = frozenset(
    {StepReason.IMAGE_PULL_BACK_OFF, StepReason.ERR_IMAGE_PULL, StepReason.INVALID_IMAGE_NAME}
)
# `ErrImagePull` alone may be a registry's passing hiccup; the kubelet turns a failed pull into
# `ImagePullBackOff` before it tries again, and a malformed name never gets better.
_PULL_GIVEN_UP = frozenset({StepReason.IMAGE_PULL_BACK_OFF, StepReason.INVALID_IMAGE_NAME})
_INTERIM = frozenset({JobConditionType.SUCCESS_CRITERIA_MET, JobConditionType.FAILURE_TARGET})


@dataclass(frozen=True)
class JobEnding:
    """How the run ended (or must end now)."""

    succeeded: bool
    reason: FailureReason | None
    """None when succeeded."""
    message: str
    """"" when succeeded."""
    exit_code: int | None = None
    step_name: str | None = None
    """The container (`workflow`) when a container failed."""
    was_execution_failure: bool = False
    ended_at: datetime | None = None
    """From the Job (completionTime, terminal condition's lastTransitionTime); None if unknown."""


@dataclass(frozen=True)
class JobProgress:
    """One reading of a Job: its ending, if any, and how it goes."""

    ending: JobEnding | None
    """None while the Job runs and nothing ends it early."""
    active: int
    retry_count: int
    """Tolerated pod failures: pods Failed with `DisruptionTarget` True, each replaced."""
    message: str
    """One line, e.g. `1 pod(s) active`."""


@dataclass(frozen=True)
class _Condition:
    type: str
    reason: str
    message: str
    changed_at: datetime | None


def job_progress(
    job: Mapping[str, Any], pods: Sequence[Mapping[str, Any]], events: Sequence[Mapping[str, Any]]
) -> JobProgress:
    """Read the Job, its pods (any order) and the Events on the Job or its pods (any order)."""
    job = mapping(job)
    uid = text(metadata(job).get("uid"))
    own = [pod for pod in documents(pods) if created_by(pod, uid)]
    newest_first = sorted(own, key=created_at, reverse=True)
    every_event = documents(events)
    job_events = [e for e in every_event if involves(e, JOB_KIND, name_of(job), uid)]
    # No pod to look at while the Job counts some: they may have run, which is the safe answer.
    ran = any(has_started(workflow_container(pod)) for pod in own) or (
        not own and _counted_pods(job) > 0
    )
    ending = _terminal_ending(job, newest_first, every_event, ran)
    if ending is None and not _true_conditions(job, _INTERIM):
        ending = _early_ending(job, newest_first, every_event, job_events, ran)
    active = count(status(job).get("active"))
    retry_count = sum(1 for pod in own if is_disrupted(pod))
    message = _progress_message(job, newest_first, job_events, retry_count, ending)
    return JobProgress(ending, active, retry_count, message)


def _terminal_ending(
    job: Document, pods: list[Document], events: list[Document], ran: bool
) -> JobEnding | None:
    terminal = _true_conditions(job, {JobConditionType.COMPLETE, JobConditionType.FAILED})
    if not terminal:
        return None
    condition = terminal[0]
    if condition.type == JobConditionType.COMPLETE:
        ended_at = time_of(status(job).get("completionTime")) or condition.changed_at
        return JobEnding(succeeded=True, reason=None, message="", ended_at=ended_at)
    failed = next(
        (pod for pod in pods if phase(pod) == PodPhase.FAILED and not is_disrupted(pod)), {}
    )
    container = workflow_container(failed)
    terminated = state(container, "terminated")
    code = exit_code(terminated)
    name = text(container.get("name")) or JOB_CONTAINER_NAME
    reason, message, step = FailureReason.UNKNOWN, condition.message, None
    never_ran = None if ran else _never_ran_cause(pods, events, settled=True)
    if terminated.get("reason") == StepReason.OOM_KILLED:
        reason, step = FailureReason.OOM_KILLED, name
        message = f'Container "{name}" of pod {name_of(failed)} ran out of memory (OOMKilled'
        message += f", exit code {code}{memory_limit(failed, name)})"
    elif never_ran is not None:
        reason, message = never_ran
    elif condition.reason == JobConditionReason.DEADLINE_EXCEEDED:
        reason = FailureReason.DEADLINE_EXCEEDED
        if (seconds := count(mapping(job.get("spec")).get("activeDeadlineSeconds"))) > 0:
            message = f"{message} (activeDeadlineSeconds {seconds})".lstrip()
    elif code and terminated.get("reason") != ContainerReason.CONTAINER_STATUS_UNKNOWN:
        reason, step = FailureReason.TASK_FAILED, name
        message = f'Container "{name}" of pod {name_of(failed)} exited with code {code}'
        if termination := text(terminated.get("message")).strip():
            message += f": {termination}"
    return JobEnding(
        succeeded=False,
        reason=reason,
        message=message or f"Job failed ({condition.reason or 'no reason given'})",
        exit_code=code if step else None,
        step_name=step,
        was_execution_failure=ran,
        ended_at=condition.changed_at,
    )


def _early_ending(
    job: Document,
    pods: list[Document],
    events: list[Document],
    job_events: list[Document],
    ran: bool,
) -> JobEnding | None:
    """A cause that leaves the Job waiting for nothing but its deadline."""
    cause = _never_ran_cause(pods, events, settled=False)
    if cause is None and not unfinished(pods) and count(status(job).get("active")) == 0:
        # A refusal while a pod runs (or an old refusal) stops nothing.
        cause = _refused_pod(warnings(job_events, KubeEventReason.FAILED_CREATE))
    if cause is None:
        return None
    reason, message = cause
    return JobEnding(False, reason, message, was_execution_failure=ran)


POD_REFUSALS: tuple[tuple[str, FailureReason], ...] = (
    (EXCEEDED_QUOTA_TEXT, FailureReason.RESOURCE_EXHAUSTED),
    (SERVICE_ACCOUNT_LOOKUP_TEXT, FailureReason.CONFIGURATION_ERROR),
    (IS_FORBIDDEN_TEXT, FailureReason.FORBIDDEN),
)
"""What the API server's refusal of the Job's pod (the Job controller's `FailedCreate` Event)
says, first match wins, and the reason: a quota, a runner ServiceAccount that does not exist, an
admission refusal (Pod Security). Each holds until someone changes the cluster, so the Job would
only wait for its deadline. Any other refusal (a conflict, a timeout) is retried by the Job
controller and ends nothing."""


def _refused_pod(refusals: list[Document]) -> tuple[FailureReason, str] | None:
    """The reason and message (the newest of its kind) of a lasting refusal of the Job's pod."""
    for marker, reason in POD_REFUSALS:
        lasting = [event for event in refusals if marker in text(event.get("message"))]
        if lasting:
            return reason, text(newest(lasting).get("message"))
    return None


def _never_ran_cause(
    pods: list[Document], events: list[Document], *, settled: bool
) -> tuple[FailureReason, str] | None:
    """Why a pod of the Job could not start its container, from the newest such pod: image pull,
    configuration, mount. `settled`: the pod is over, so its Events tell (the kubelet's
    `Failed` "Error: …" too), and an `ErrImagePull` counts."""
    for pod in pods:
        container = workflow_container(pod)
        if has_started(container) or (not settled and phase(pod) in set(PodPhase)):
            continue
        mine = [e for e in events if involves(e, POD_KIND, name_of(pod), uid_of(pod))]
        waiting = state(container, "waiting")
        waiting_reason, waiting_message = (
            text(waiting.get("reason")),
            text(waiting.get("message")),
        )
        kubelet_failures = warnings(mine, KubeEventReason.FAILED)
        pull_errors = [
            event
            for event in kubelet_failures
            if text(event.get("message")).startswith(FAILED_TO_PULL_IMAGE_TEXT)
        ]
        errors = [
            text(event.get("message")).removeprefix(KUBELET_ERROR_PREFIX)
            for event in kubelet_failures
            if text(event.get("message")).startswith(KUBELET_ERROR_PREFIX)
        ]
        if waiting_reason in (_PULL_REASONS if settled else _PULL_GIVEN_UP) or (
            settled and (pull_errors or set(errors) & _PULL_REASONS)
        ):
            pulled = text(newest(pull_errors).get("message")) if pull_errors else ""
            return FailureReason.IMAGE_PULL_BACK_OFF, pulled or waiting_message or waiting_reason
        if waiting_reason == ContainerReason.CREATE_CONTAINER_CONFIG_ERROR:
            return FailureReason.CONFIGURATION_ERROR, waiting_message or waiting_reason
        mounts = warnings(mine, KubeEventReason.FAILED_MOUNT)
        if (settled and mounts) or any(_missing_in(event) for event in mounts):
            return FailureReason.CONFIGURATION_ERROR, _mount_message(pod, mounts)
        if settled and (configuration := [e for e in errors if e not in _PULL_REASONS]):
            return FailureReason.CONFIGURATION_ERROR, configuration[-1]
    return None


def _missing_in(event: Document) -> list[str]:
    return missing_objects_named(text(event.get("message")))


def _mount_message(pod: Document, failures: list[Document]) -> str:
    missing = list(dict.fromkeys(found for event in failures for found in _missing_in(event)))
    latest = text(newest(failures).get("message"))
    if not missing:
        return latest
    namespace = text(metadata(pod).get("namespace"))
    where = f" in namespace {namespace}" if namespace else ""
    return (
        f"{', '.join(missing)}{where}: the workflow's pod {name_of(pod)} cannot start"
        f" (FailedMount: {latest})"
    )


def _progress_message(
    job: Document,
    pods: list[Document],
    job_events: list[Document],
    retry_count: int,
    ending: JobEnding | None,
) -> str:
    counts = status(job)
    active = count(counts.get("active"))
    parts = [f"{active} pod(s) active"]
    parts += [
        f"{number} {word}"
        for word in ("succeeded", "failed")
        if (number := count(counts.get(word))) > 0
    ]
    if retry_count:
        parts.append(f"{retry_count} disrupted and replaced")
    line = ", ".join(parts)
    waiting = [
        text(state(workflow_container(pod), "waiting").get("reason")) for pod in unfinished(pods)
    ]
    if ending is None and any(waiting):
        line += f"; waiting: {next(reason for reason in waiting if reason)}"
    refused = warnings(job_events, KubeEventReason.FAILED_CREATE)
    if ending is None and active == 0 and refused:
        line += f"; pod creation failed: {text(newest(refused).get('message'))}"
    return line


def _true_conditions(job: Document, types: Iterable[str]) -> list[_Condition]:
    wanted = set(types)
    found = []
    for item in documents(status(job).get("conditions")):
        if text(item.get("type")) in wanted and item.get("status") == ConditionStatus.TRUE:
            found.append(
                _Condition(
                    type=text(item.get("type")),
                    reason=text(item.get("reason")),
                    message=text(item.get("message")),
                    changed_at=time_of(item.get("lastTransitionTime")),
                )
            )
    return found


def _counted_pods(job: Document) -> int:
    counts = status(job)
    return sum(count(counts.get(key)) for key in ("active", "succeeded", "failed"))
