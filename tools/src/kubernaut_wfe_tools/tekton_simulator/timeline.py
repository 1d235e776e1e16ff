"""The schedule of writes that plays one PipelineRun, and where a restarted simulator resumes.

Pure: `build_timeline` turns a Scenario and the run's start into an ordered list of `Write`s;
`pending_writes` compares that list with the objects as they are now.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from kubernaut_wfe.constants import SUCCEEDED_CONDITION, StepReason
from kubernaut_wfe_tools.tekton_simulator import documents as docs
from kubernaut_wfe_tools.tekton_simulator import messages
from kubernaut_wfe_tools.tekton_simulator.scenario import Outcome, Scenario


class WriteKind(StrEnum):
    PIPELINERUN_LABELS = "pipelinerun-labels"
    """Merge the document into the PipelineRun's labels."""
    PIPELINERUN_STATUS = "pipelinerun-status"
    """Replace the PipelineRun's status with the document."""
    TASKRUN_CREATE = "taskrun-create"
    """Create the document (a whole TaskRun)."""
    TASKRUN_STATUS = "taskrun-status"
    """Replace the TaskRun's status with the document."""
    TASKRUN_SPEC = "taskrun-spec"
    """Merge the document into the TaskRun's spec."""


@dataclass(frozen=True)
class Write:
    """One write to the API: when it is due, what kind, which object (by name), what content."""

    due: datetime
    kind: WriteKind
    name: str
    document: Mapping[str, Any]


@dataclass(frozen=True)
class Pacing:
    """How long Tekton takes between the phases of a run (DELAY_SECONDS is the step's own time)."""

    resolution: timedelta = timedelta(seconds=1)
    """From the first reconcile to the resolved bundle (and the TaskRun's creation)."""
    pod_start: timedelta = timedelta(seconds=1)
    """From the TaskRun's first reconcile to its step running."""
    cancellation: timedelta = timedelta(seconds=1)
    """From the PipelineRun's timeout to its child's cancellation being processed."""


@dataclass
class _Plan:
    scenario: Scenario
    writes: list[Write] = field(default_factory=list)
    pipelinerun: dict[str, Any] = field(default_factory=dict)
    taskrun: dict[str, Any] | None = None
    taskrun_created: bool = False

    @property
    def taskrun_name(self) -> str:
        return docs.taskrun_name(self.scenario.name, self.scenario.task.pipeline_task)

    def pipelinerun_status(self, due: datetime, status: dict[str, Any]) -> None:
        self.pipelinerun = status
        self.writes.append(Write(due, WriteKind.PIPELINERUN_STATUS, self.scenario.name, status))

    def create_taskrun(self, due: datetime) -> None:
        self.taskrun_created = True
        obj = docs.taskrun_object(self.scenario)
        self.writes.append(Write(due, WriteKind.TASKRUN_CREATE, self.taskrun_name, obj))

    def taskrun_status(self, due: datetime, status: dict[str, Any]) -> None:
        self.taskrun = status
        self.writes.append(Write(due, WriteKind.TASKRUN_STATUS, self.taskrun_name, status))


DEFAULT_PACING = Pacing()


def build_timeline(
    scenario: Scenario, start: datetime, pacing: Pacing = DEFAULT_PACING
) -> list[Write]:
    """Every write that plays `scenario`, in order; `start` is the PipelineRun's startTime."""
    plan = _Plan(scenario)
    label = docs.pipeline_label(scenario)
    plan.writes.append(Write(start, WriteKind.PIPELINERUN_LABELS, scenario.name, label))
    plan.pipelinerun_status(start, docs.pipelinerun_resolving(scenario, start))
    _play(plan, start, pacing)
    return _apply_pipeline_timeout(plan, start, pacing)


def _play(plan: _Plan, start: datetime, pacing: Pacing) -> None:
    scenario, outcome = plan.scenario, plan.scenario.outcome
    resolved = start + pacing.resolution
    if outcome is Outcome.MISSING:
        ended = resolved + scenario.delay
        plan.pipelinerun_status(
            ended, docs.pipelinerun_couldnt_get_pipeline(scenario, plan.pipelinerun, ended)
        )
        return
    if outcome is Outcome.INVALID:
        ended = resolved + scenario.delay
        plan.pipelinerun_status(
            ended, docs.pipelinerun_parameter_missing(scenario, plan.pipelinerun, ended)
        )
        return
    plan.create_taskrun(resolved)
    plan.pipelinerun_status(resolved, docs.pipelinerun_running(scenario, start, resolved))
    if outcome is Outcome.FORBIDDEN:
        plan.taskrun_status(resolved, docs.taskrun_pod_admission_failed(scenario, resolved))
        _finish_task(plan, resolved, failed=True)
        return
    if outcome is Outcome.QUOTA:
        plan.taskrun_status(resolved, docs.taskrun_exceeded_quota(scenario, resolved))
        return
    plan.taskrun_status(resolved, docs.taskrun_pending(scenario, resolved))
    started = resolved + pacing.pod_start
    if outcome is Outcome.MISSING_DEPENDENCY:
        # A failed child fails the run at Tekton's next reconcile (F > 0), pod left waiting.
        assert plan.taskrun is not None
        plan.taskrun_status(started, docs.taskrun_config_error(plan.taskrun, scenario, started))
        _finish_task(plan, started, failed=True)
        return
    if outcome is Outcome.IMAGE_PULL:
        assert plan.taskrun is not None
        plan.taskrun_status(started, docs.taskrun_pulling_image(plan.taskrun, scenario, started))
        ended = started + scenario.delay
        plan.taskrun_status(ended, docs.taskrun_image_pull_failed(plan.taskrun, scenario, ended))
        _finish_task(plan, ended, failed=True)
        return
    assert plan.taskrun is not None
    plan.taskrun_status(started, docs.taskrun_running(plan.taskrun, scenario, started))
    if outcome is Outcome.TIMEOUT:
        return
    if outcome is Outcome.TASK_TIMEOUT:
        assert scenario.task.timeout is not None
        ended = resolved + scenario.task.timeout
        plan.taskrun_status(ended, docs.taskrun_timed_out(scenario, plan.taskrun, ended))
        _finish_task(plan, ended, failed=True)
        return
    exit_code, reason = _EXITS[outcome]
    ended = started + scenario.delay
    plan.taskrun_status(
        ended,
        docs.taskrun_step_exited(
            plan.taskrun, scenario, exit_code=exit_code, reason=reason, started=started, at=ended
        ),
    )
    _finish_task(plan, ended, failed=exit_code != 0)


_EXITS = {
    Outcome.SUCCEED: (0, StepReason.COMPLETED),
    Outcome.EXIT: (1, StepReason.ERROR),
    Outcome.OOM: (137, StepReason.OOM_KILLED),
}


def _finish_task(plan: _Plan, at: datetime, *, failed: bool) -> None:
    plan.pipelinerun_status(
        at, docs.pipelinerun_task_outcome(plan.pipelinerun, failed=failed, at=at)
    )


def _apply_pipeline_timeout(plan: _Plan, start: datetime, pacing: Pacing) -> list[Write]:
    """Cut the natural timeline at `spec.timeouts.pipeline` and time the run out there."""
    timeout = plan.scenario.pipeline_timeout
    if timeout is None:
        return plan.writes
    return _cut(plan, start + timeout, pacing, docs.pipelinerun_timed_out,
                messages.CANCELLED_BY_PIPELINE_TIMEOUT)  # fmt: skip


def apply_cancellation(
    scenario: Scenario, writes: list[Write], at: datetime, pacing: Pacing = DEFAULT_PACING
) -> list[Write]:
    """The timeline of a run cancelled (`spec.status: Cancelled`) at `at`: Tekton sets the
    PipelineRun `Cancelled` at once and cancels each unfinished child."""
    plan = _Plan(scenario, writes=list(writes))
    return _cut(plan, at, pacing, docs.pipelinerun_cancelled, messages.CANCELLED_BY_PIPELINE_CANCEL)


def _cut(
    plan: _Plan,
    at: datetime,
    pacing: Pacing,
    final: Callable[[Scenario, dict[str, Any], datetime], dict[str, Any]],
    cause: str,
) -> list[Write]:
    """Keep the writes before `at`, then end the PipelineRun there with `final` and cancel an
    unfinished TaskRun for `cause` (unless the run had already finished by then)."""
    finished = [w.due for w in plan.writes if _is_final_pipelinerun(w)]
    if finished and finished[0] < at:
        return plan.writes
    kept = _Plan(plan.scenario)
    for write in plan.writes:
        if write.due >= at:
            break
        kept.writes.append(write)
        if write.kind is WriteKind.PIPELINERUN_STATUS:
            kept.pipelinerun = dict(write.document)
        elif write.kind is WriteKind.TASKRUN_STATUS:
            kept.taskrun = dict(write.document)
        elif write.kind is WriteKind.TASKRUN_CREATE:
            kept.taskrun_created = True
    cancel_child = kept.taskrun_created and not docs.is_done(kept.taskrun)
    if cancel_child:
        spec = docs.taskrun_cancel_spec(cause)
        kept.writes.append(Write(at, WriteKind.TASKRUN_SPEC, kept.taskrun_name, spec))
    kept.pipelinerun_status(at, final(plan.scenario, kept.pipelinerun, at))
    if cancel_child:
        cancelled = at + pacing.cancellation
        kept.taskrun_status(
            cancelled, docs.taskrun_cancelled(plan.scenario, kept.taskrun, cancelled, cause)
        )
    return kept.writes


def _is_final_pipelinerun(write: Write) -> bool:
    return write.kind is WriteKind.PIPELINERUN_STATUS and docs.is_done(write.document)


def _condition_key(status: Mapping[str, Any] | None) -> tuple[Any, ...] | None:
    for entry in (status or {}).get("conditions") or []:
        if entry.get("type") == SUCCEEDED_CONDITION:
            return (entry.get("status"), entry.get("reason"), entry.get("message"))
    return None


def is_applied(
    write: Write, pipelinerun: Mapping[str, Any], taskruns: Mapping[str, Mapping[str, Any]]
) -> bool:
    """Whether the objects as read already show the effect of `write`."""
    if write.kind is WriteKind.PIPELINERUN_LABELS:
        labels = (pipelinerun.get("metadata") or {}).get("labels") or {}
        return all(labels.get(key) == value for key, value in write.document.items())
    if write.kind is WriteKind.PIPELINERUN_STATUS:
        current = _condition_key(pipelinerun.get("status"))
        return current is not None and current == _condition_key(write.document)
    taskrun = taskruns.get(write.name)
    if taskrun is None:
        return False
    if write.kind is WriteKind.TASKRUN_CREATE:
        return True
    if write.kind is WriteKind.TASKRUN_SPEC:
        return (taskrun.get("spec") or {}).get("status") == write.document.get("status")
    current = _condition_key(taskrun.get("status"))
    return current is not None and current == _condition_key(write.document)


def pending_writes(
    timeline: list[Write],
    pipelinerun: Mapping[str, Any],
    taskruns: Mapping[str, Mapping[str, Any]],
) -> list[Write]:
    """The writes after the last one whose effect is visible: where a restart resumes."""
    last_applied = -1
    for index, write in enumerate(timeline):
        if is_applied(write, pipelinerun, taskruns):
            last_applied = index
    return timeline[last_applied + 1 :]
