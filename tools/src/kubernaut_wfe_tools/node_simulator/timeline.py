"""The writes that play one pod on the node, and where a restarted stand-in resumes. Pure.

`build_timeline` turns a scenario and the moment the kubelet first saw the pod into ordered
`Write`s (binding, statuses, Events) plus the Events a stuck pod repeats; `termination` is what
the kubelet writes when the pod is deleted before it ended; `pending_writes` compares a
timeline with the pod as it is now.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from kubernaut_wfe.constants import EventType, StepReason
from kubernaut_wfe_tools.node_simulator import messages
from kubernaut_wfe_tools.node_simulator.documents import identity, pod
from kubernaut_wfe_tools.node_simulator.documents.events import KubeletEvent
from kubernaut_wfe_tools.node_simulator.documents.node import NodeIdentity
from kubernaut_wfe_tools.node_simulator.scenario import OOM_EXIT_CODE, Outcome, PodScenario
from kubernaut_wfe_tools.node_simulator.vocabulary import KubeletContainerReason, KubeletEventReason
from kubernaut_wfe_tools.tekton_simulator.durations import format_go_duration

EVICTION_THRESHOLD: Final = "100Mi"
"""The kubelet's default hard `memory.available` threshold."""
EVICTION_AVAILABLE: Final = "87040Ki"
"""The memory the node had left when it evicted (made up, under the threshold)."""
EVICTION_USAGE: Final = "1048576Ki"
"""What the evicted container was using when the node ran short (made up)."""


class WriteKind(StrEnum):
    BIND = "bind"
    """Post the document to `pods/binding`."""
    STATUS = "status"
    """Patch the pod's status with the document (through `pods/status`)."""
    EVENT = "event"
    """Post the kubelet Event."""


@dataclass(frozen=True)
class Write:
    """One write to the API, when it is due."""

    due: datetime
    kind: WriteKind
    document: Mapping[str, Any] = field(default_factory=dict)
    event: KubeletEvent | None = None


@dataclass(frozen=True)
class Repeat:
    """Events the kubelet posts again every `period` from `start` while the pod stays stuck (each
    time counted again on the same Event)."""

    start: datetime
    period: timedelta
    events: tuple[KubeletEvent, ...]

    def next_due(self, after: datetime) -> datetime:
        """The first repetition strictly after `after`."""
        if after < self.start:
            return self.start
        return self.start + self.period * ((after - self.start) // self.period + 1)


@dataclass(frozen=True)
class Timeline:
    """What the kubelet writes for one pod: `writes` in order, then `repeat` while it is stuck."""

    writes: tuple[Write, ...]
    repeat: Repeat | None = None


@dataclass(frozen=True)
class Pacing:
    """How long the node takes between the steps of a pod (DELAY_SECONDS is the workflow's)."""

    sandbox: timedelta = timedelta(seconds=1)
    """From the pod's binding to its volumes mounted and its sandbox running."""
    image_pull: timedelta = timedelta(seconds=1)
    """Pulling the image (an image already on the node takes no time)."""
    pull_back_off: timedelta = timedelta(seconds=1)
    """From a failed pull to the kubelet's next sync, in back-off (`ImagePullBackOff`)."""
    event_repeat: timedelta = timedelta(seconds=10)
    """How often a stuck pod's warnings are posted again."""


DEFAULT_PACING = Pacing()


@dataclass
class _Plan:
    scenario: PodScenario
    node: NodeIdentity
    writes: list[Write] = field(default_factory=list)
    status: dict[str, Any] = field(default_factory=dict)

    def write_status(self, due: datetime, status: dict[str, Any]) -> None:
        self.status = status
        self.writes.append(Write(due, WriteKind.STATUS, status))

    def post(self, due: datetime, *events: KubeletEvent) -> None:
        self.writes.extend(Write(due, WriteKind.EVENT, event=event) for event in events)


def _normal(reason: KubeletEventReason, message: str) -> KubeletEvent:
    return KubeletEvent(EventType.NORMAL, reason.value, message)


def _warning(
    reason: KubeletEventReason, message: str, *, about_container: bool = True
) -> KubeletEvent:
    return KubeletEvent(EventType.WARNING, reason.value, message, about_container)


def _stopping(scenario: PodScenario) -> KubeletEvent:
    return _normal(KubeletEventReason.KILLING, messages.stopping_container(scenario.container))


def build_timeline(
    scenario: PodScenario,
    node: NodeIdentity,
    start: datetime,
    pacing: Pacing = DEFAULT_PACING,
    *,
    image_present: bool = False,
) -> Timeline:
    """Every write that plays `scenario` on `node` from `start` (when the kubelet first saw the
    pod; the binding is due then). `image_present`: the node already holds the image, so a pod
    whose pull policy is not `Always` pulls nothing."""
    plan = _Plan(scenario, node)
    plan.writes.append(Write(start, WriteKind.BIND, pod.binding(scenario, node.name)))
    plan.write_status(start, pod.scheduled(scenario, node, start))
    if scenario.outcome is Outcome.MISSING_DEPENDENCY:
        failures = tuple(
            _warning(
                KubeletEventReason.FAILED_MOUNT,
                messages.mount_failed(d.volume, d.kind.value, d.name),
                about_container=False,
            )
            for d in scenario.missing
        )
        plan.post(start, *failures)
        return Timeline(
            tuple(plan.writes), Repeat(start + pacing.event_repeat, pacing.event_repeat, failures)
        )
    sandbox = start + pacing.sandbox
    plan.write_status(sandbox, pod.sandbox_ready(scenario, node, plan.status, sandbox))
    if scenario.outcome is Outcome.IMAGE_PULL:
        return _image_pull_fails(plan, sandbox, pacing)
    pulled, pull_events = _pull(scenario, sandbox, pacing, image_present)
    for due, event in pull_events:
        plan.post(due, event)
    if scenario.outcome is Outcome.CONFIG:
        return _config_error(plan, pulled, pacing)
    plan.post(
        pulled,
        _normal(KubeletEventReason.CREATED, messages.CONTAINER_CREATED),
        _normal(KubeletEventReason.STARTED, messages.CONTAINER_STARTED),
    )
    plan.write_status(pulled, pod.running(scenario, node, plan.status, pulled))
    if scenario.outcome is Outcome.TIMEOUT:
        return Timeline(tuple(plan.writes))
    ended = pulled + scenario.delay
    if scenario.outcome is Outcome.DISRUPTION:
        message = messages.evicted_for_memory(
            threshold=EVICTION_THRESHOLD,
            available=EVICTION_AVAILABLE,
            container=scenario.container,
            usage=EVICTION_USAGE,
            request=scenario.memory_request,
        )
        evicted = _warning(KubeletEventReason.EVICTED, message, about_container=False)
        plan.post(ended, evicted, _stopping(scenario))
        plan.write_status(ended, pod.evicted(scenario, node, plan.status, ended, message=message))
        return Timeline(tuple(plan.writes))
    exit_code, reason = _exit(scenario)
    plan.write_status(
        ended, pod.exited(scenario, node, plan.status, ended, exit_code=exit_code, reason=reason)
    )
    return Timeline(tuple(plan.writes))


def _exit(scenario: PodScenario) -> tuple[int, str]:
    if scenario.outcome is Outcome.OOM:
        return OOM_EXIT_CODE, StepReason.OOM_KILLED.value
    if scenario.outcome is Outcome.EXIT and scenario.exit_code != 0:
        return scenario.exit_code, StepReason.ERROR.value
    return 0, StepReason.COMPLETED.value


def _pull(
    scenario: PodScenario, at: datetime, pacing: Pacing, image_present: bool
) -> tuple[datetime, list[tuple[datetime, KubeletEvent]]]:
    """When the image is there, and the Events saying how it got there."""
    image = identity.requested_image(scenario.image)
    if image_present and not scenario.pull_always:
        return at, [(at, _normal(KubeletEventReason.PULLED, messages.image_already_present(image)))]
    pulled = at + pacing.image_pull
    duration = format_go_duration(pacing.image_pull)
    done = messages.pulled_image(image, duration, identity.image_size(scenario.image))
    return pulled, [
        (at, _normal(KubeletEventReason.PULLING, messages.pulling_image(image))),
        (pulled, _normal(KubeletEventReason.PULLED, done)),
    ]


def _image_pull_fails(plan: _Plan, at: datetime, pacing: Pacing) -> Timeline:
    scenario, node = plan.scenario, plan.node
    image = identity.requested_image(scenario.image)
    error = messages.image_not_found(identity.containerd_reference(scenario.image))
    plan.post(at, _normal(KubeletEventReason.PULLING, messages.pulling_image(image)))
    failed = at + pacing.image_pull
    plan.post(
        failed,
        _warning(KubeletEventReason.FAILED, messages.failed_to_pull(image, error)),
        _warning(KubeletEventReason.FAILED, messages.error_event(StepReason.ERR_IMAGE_PULL.value)),
    )
    pull_error = pod.waiting(
        scenario, node, plan.status, failed, reason=StepReason.ERR_IMAGE_PULL.value, message=error
    )
    plan.write_status(failed, pull_error)
    backing_off = failed + pacing.pull_back_off
    in_back_off = messages.error_event(StepReason.IMAGE_PULL_BACK_OFF.value)
    back_off = (
        _normal(KubeletEventReason.BACK_OFF, messages.back_off_pulling(image)),
        _warning(KubeletEventReason.FAILED, in_back_off),
    )
    plan.post(backing_off, *back_off)
    plan.write_status(
        backing_off,
        pod.waiting(
            scenario,
            node,
            plan.status,
            backing_off,
            reason=StepReason.IMAGE_PULL_BACK_OFF.value,
            message=messages.back_off_waiting(image, error),
        ),
    )
    return Timeline(
        tuple(plan.writes), Repeat(backing_off + pacing.event_repeat, pacing.event_repeat, back_off)
    )


def _config_error(plan: _Plan, at: datetime, pacing: Pacing) -> Timeline:
    scenario, node = plan.scenario, plan.node
    text = messages.runs_as_root(
        scenario.name, scenario.namespace, scenario.uid, scenario.container
    )
    failed = _warning(KubeletEventReason.FAILED, messages.error_event(text))
    plan.post(at, failed)
    plan.write_status(
        at,
        pod.waiting(
            scenario,
            node,
            plan.status,
            at,
            reason=KubeletContainerReason.CREATE_CONTAINER_CONFIG_ERROR.value,
            message=text,
        ),
    )
    # Each retry finds the image on the node and fails the same way.
    present = _normal(
        KubeletEventReason.PULLED,
        messages.image_already_present(identity.requested_image(scenario.image)),
    )
    return Timeline(
        tuple(plan.writes), Repeat(at + pacing.event_repeat, pacing.event_repeat, (present, failed))
    )


def termination(
    scenario: PodScenario, node: NodeIdentity, status: Mapping[str, Any], at: datetime
) -> list[Write]:
    """What the kubelet writes for a pod deleted before it ended (`status` as read): it stops a
    running container, then reports the pod Failed. Nothing for a pod already ended."""
    if pod.is_terminal(status):
        return []
    writes = []
    if "running" in pod.container_state(status):
        stopping = _normal(
            KubeletEventReason.KILLING, messages.stopping_container(scenario.container)
        )
        writes.append(Write(at, WriteKind.EVENT, event=stopping))
    writes.append(Write(at, WriteKind.STATUS, pod.killed(scenario, node, status, at)))
    return writes


def _signature(status: Mapping[str, Any] | None) -> tuple[Any, ...] | None:
    """What tells the kubelet's statuses apart: phase, sandbox, the container's state."""
    if not status or not status.get("containerStatuses"):
        return None
    state = pod.container_state(status)
    kind = next(iter(state), None)
    reason = (state.get(kind) or {}).get("reason") if kind else None
    return (status.get("phase"), bool(status.get("podIP")), kind, reason)


def pending_writes(timeline: Timeline, current: Mapping[str, Any]) -> list[Write]:
    """The writes after the last one whose effect the pod (as read) shows: where a restarted
    stand-in resumes. Events are not visible on the pod: those before that point are taken as
    posted."""
    bound = bool((current.get("spec") or {}).get("nodeName"))
    now = _signature(current.get("status"))
    last_applied = -1
    for index, write in enumerate(timeline.writes):
        if (write.kind is WriteKind.BIND and bound) or (
            write.kind is WriteKind.STATUS and now is not None and _signature(write.document) == now
        ):
            last_applied = index
    return list(timeline.writes[last_applied + 1 :])
