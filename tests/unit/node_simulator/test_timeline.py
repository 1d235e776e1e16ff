"""Every simulated outcome: the order of writes, the kubelet's texts, the statuses against the
Kubernetes 1.36 schema, and where a restarted stand-in resumes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kubernaut_wfe_tools.node_simulator import NodeIdentity, Outcome, PodScenario, read_scenario
from kubernaut_wfe_tools.node_simulator.documents import identity
from kubernaut_wfe_tools.node_simulator.scenario import with_missing
from kubernaut_wfe_tools.node_simulator.timeline import (
    DEFAULT_PACING,
    Pacing,
    Repeat,
    Timeline,
    Write,
    WriteKind,
    build_timeline,
    pending_writes,
    termination,
)

T0 = datetime(2025, 6, 1, 10, 0, 0, tzinfo=UTC)
NODE = NodeIdentity(name="kubelet-standin", kubelet_version="v1.36.3")
IMAGE = "quay.io/kubernaut-test/workflow:v1.0.0"
Validate = Callable[[Mapping[str, Any]], None]
MakeScenario = Callable[..., PodScenario]
MakePod = Callable[..., dict[str, Any]]
BIND, STATUS, EVENT = WriteKind.BIND, WriteKind.STATUS, WriteKind.EVENT

PENDING = ("Pending", False, "waiting", "ContainerCreating")
SANDBOX = ("Pending", True, "waiting", "ContainerCreating")
RUNNING = ("Running", True, "running", None)
START = [(BIND, None, 0), (STATUS, PENDING, 0), (STATUS, SANDBOX, 1)]
PULL = [(EVENT, ("Normal", "Pulling"), 1), (EVENT, ("Normal", "Pulled"), 2)]
RUN = [(EVENT, ("Normal", "Created"), 2), (EVENT, ("Normal", "Started"), 2), (STATUS, RUNNING, 2)]

# mode -> [(write kind, status signature or (event type, reason), seconds after start)];
# DELAY_SECONDS is 2, the pacing the default one.
SEQUENCES: dict[str, list[tuple[WriteKind, Any, int]]] = {
    "": [*START, *PULL, *RUN, (STATUS, ("Succeeded", True, "terminated", "Completed"), 4)],
    "exit": [*START, *PULL, *RUN, (STATUS, ("Failed", True, "terminated", "Error"), 4)],
    "oom": [*START, *PULL, *RUN, (STATUS, ("Failed", True, "terminated", "OOMKilled"), 4)],
    "timeout": [*START, *PULL, *RUN],
    "disruption": [
        *START,
        *PULL,
        *RUN,
        (EVENT, ("Warning", "Evicted"), 4),
        (EVENT, ("Normal", "Killing"), 4),
        (STATUS, ("Failed", True, "terminated", "Error"), 4),
    ],
    "imagepull": [
        *START,
        (EVENT, ("Normal", "Pulling"), 1),
        (EVENT, ("Warning", "Failed"), 2),
        (EVENT, ("Warning", "Failed"), 2),
        (STATUS, ("Pending", True, "waiting", "ErrImagePull"), 2),
        (EVENT, ("Normal", "BackOff"), 3),
        (EVENT, ("Warning", "Failed"), 3),
        (STATUS, ("Pending", True, "waiting", "ImagePullBackOff"), 3),
    ],
    "config": [
        *START,
        *PULL,
        (EVENT, ("Warning", "Failed"), 2),
        (STATUS, ("Pending", True, "waiting", "CreateContainerConfigError"), 2),
    ],
}


def _signature(status: Mapping[str, Any]) -> tuple[Any, ...]:
    state = status["containerStatuses"][0]["state"]
    kind = next(iter(state))
    return (status["phase"], "podIP" in status, kind, state[kind].get("reason"))


def _describe(timeline: Timeline) -> list[tuple[WriteKind, Any, int]]:
    described: list[tuple[WriteKind, Any, int]] = []
    for write in timeline.writes:
        seconds = int((write.due - T0).total_seconds())
        if write.kind is STATUS:
            described.append((STATUS, _signature(write.document), seconds))
        elif write.kind is EVENT:
            assert write.event is not None
            described.append((EVENT, (write.event.type.value, write.event.reason), seconds))
        else:
            described.append((BIND, None, seconds))
    return described


def _statuses(timeline: Timeline) -> list[Mapping[str, Any]]:
    return [write.document for write in timeline.writes if write.kind is STATUS]


def _texts(timeline: Timeline) -> list[tuple[str, str]]:
    return [(w.event.reason, w.event.message) for w in timeline.writes if w.event is not None]


def _conditions(status: Mapping[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(c["type"], c["status"], c.get("reason")) for c in status["conditions"]]


@pytest.mark.parametrize("mode", list(SEQUENCES))
def test_sequence_of_writes(mode: str, scenario_of: MakeScenario) -> None:
    env = {"DELAY_SECONDS": "2"} | ({"FAILURE_MODE": mode} if mode else {})
    assert _describe(build_timeline(scenario_of(env), NODE, T0)) == SEQUENCES[mode]


@pytest.mark.parametrize("mode", [*SEQUENCES, "missing"])
def test_every_document_is_a_valid_pod_status_and_event(
    mode: str, make_pod: MakePod, scenario_of: MakeScenario, validate: Validate
) -> None:
    env = {"FAILURE_MODE": mode} if mode not in {"", "missing"} else {}
    scenario = scenario_of(env, secrets=["db"], config_maps=["settings"])
    if mode == "missing":
        scenario = with_missing(scenario, scenario.dependencies)
    pod = make_pod(env, secrets=["db"], config_maps=["settings"])
    timeline = build_timeline(scenario, NODE, T0)
    for write in timeline.writes:
        if write.kind is STATUS:
            validate({**pod, "status": dict(write.document)})
        elif write.kind is BIND:
            validate(write.document)
    for write in termination(scenario, NODE, _statuses(timeline)[-1], T0):
        if write.kind is STATUS:
            validate({**pod, "status": dict(write.document)})


def test_a_successful_pod_as_the_kubelet_reports_it(scenario_of: MakeScenario) -> None:
    scenario = scenario_of()
    statuses = _statuses(build_timeline(scenario, NODE, T0))
    running, done = statuses[2], statuses[3]
    assert _conditions(running) == [
        ("PodReadyToStartContainers", "True", None),
        ("Initialized", "True", None),
        ("Ready", "True", None),
        ("ContainersReady", "True", None),
        ("PodScheduled", "True", None),
    ]
    assert _conditions(done) == [
        ("PodReadyToStartContainers", "False", None),
        ("Initialized", "True", "PodCompleted"),
        ("Ready", "False", "PodCompleted"),
        ("ContainersReady", "False", "PodCompleted"),
        ("PodScheduled", "True", None),
    ]
    container = done["containerStatuses"][0]
    assert container["state"]["terminated"] == {
        "exitCode": 0,
        "reason": "Completed",
        "startedAt": "2025-06-01T10:00:02Z",
        "finishedAt": "2025-06-01T10:00:04Z",
        "containerID": identity.container_id(scenario.uid, "workflow"),
    }
    assert (container["name"], container["ready"], container["started"]) == (
        "workflow",
        False,
        False,
    )
    assert container["image"] == IMAGE
    assert container["imageID"] == identity.image_id(IMAGE)
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert done["hostIP"] == "127.0.0.1"
    assert done["podIP"] == identity.pod_ip(scenario.uid, NODE.pod_cidr)
    assert done["startTime"] == "2025-06-01T10:00:00Z"
    assert done["observedGeneration"] == 1
    assert "qosClass" not in done  # the API server's, left as it is


def test_conditions_keep_their_transition_time_until_their_status_changes(
    scenario_of: MakeScenario,
) -> None:
    statuses = _statuses(build_timeline(scenario_of(), NODE, T0))
    times = [
        {c["type"]: c["lastTransitionTime"][-3:-1] for c in status["conditions"]}
        for status in statuses
    ]
    assert [t["PodScheduled"] for t in times] == ["00", "00", "00", "00"]
    assert [t["PodReadyToStartContainers"] for t in times] == ["00", "01", "01", "04"]
    assert [t["Ready"] for t in times] == ["00", "00", "02", "04"]
    assert [t["Initialized"] for t in times] == ["00", "00", "00", "00"]


def test_a_pending_pod_says_which_container_is_not_ready(scenario_of: MakeScenario) -> None:
    pending = _statuses(build_timeline(scenario_of(), NODE, T0))[0]
    ready = next(c for c in pending["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "ContainersNotReady"
    assert ready["message"] == "containers with unready status: [workflow]"
    container = pending["containerStatuses"][0]
    assert container["image"] == IMAGE  # as the spec names it, before containerd has it
    assert container["imageID"] == ""
    assert "containerID" not in container
    assert "podIP" not in pending


def test_kubelet_texts_of_a_run(scenario_of: MakeScenario) -> None:
    timeline = build_timeline(scenario_of(), NODE, T0)
    size = identity.image_size(IMAGE)
    assert _texts(timeline) == [
        ("Pulling", f'Pulling image "{IMAGE}"'),
        (
            "Pulled",
            f'Successfully pulled image "{IMAGE}" in 1s (1s including waiting). '
            f"Image size: {size} bytes.",
        ),
        ("Created", "Container created"),
        ("Started", "Container started"),
    ]


def test_an_image_on_the_node_is_not_pulled_again(scenario_of: MakeScenario) -> None:
    timeline = build_timeline(scenario_of(), NODE, T0, image_present=True)
    assert _texts(timeline)[0] == (
        "Pulled",
        f'Container image "{IMAGE}" already present on machine',
    )
    assert _describe(timeline)[-1] == (STATUS, ("Succeeded", True, "terminated", "Completed"), 3)


def test_pull_policy_always_pulls_even_an_image_on_the_node(make_pod: MakePod) -> None:
    pod = make_pod()
    pod["spec"]["containers"][0]["imagePullPolicy"] = "Always"
    timeline = build_timeline(read_scenario(pod), NODE, T0, image_present=True)
    assert _texts(timeline)[0][0] == "Pulling"


def test_zero_delay_ends_in_the_second_it_starts(scenario_of: MakeScenario) -> None:
    described = _describe(build_timeline(scenario_of({"DELAY_SECONDS": "0"}), NODE, T0))
    assert described[-2:] == [
        (STATUS, RUNNING, 2),
        (STATUS, ("Succeeded", True, "terminated", "Completed"), 2),
    ]


@pytest.mark.parametrize(
    ("code", "phase", "reason"), [(3, "Failed", "Error"), (0, "Succeeded", "Completed")]
)
def test_exit_code_is_the_container_s(
    code: int, phase: str, reason: str, scenario_of: MakeScenario
) -> None:
    env = {"FAILURE_MODE": "exit", "EXIT_CODE": str(code)}
    final = _statuses(build_timeline(scenario_of(env), NODE, T0))[-1]
    terminated = final["containerStatuses"][0]["state"]["terminated"]
    assert (final["phase"], terminated["exitCode"], terminated["reason"]) == (phase, code, reason)


def test_oom_is_137_oomkilled(scenario_of: MakeScenario) -> None:
    final = _statuses(build_timeline(scenario_of({"FAILURE_MODE": "oom"}), NODE, T0))[-1]
    terminated = final["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (137, "OOMKilled")
    assert ("Ready", "False", "PodFailed") in _conditions(final)


def test_an_evicted_pod_carries_the_disruption_target(scenario_of: MakeScenario) -> None:
    timeline = build_timeline(scenario_of({"FAILURE_MODE": "disruption"}), NODE, T0)
    final = _statuses(timeline)[-1]
    message = (
        "The node was low on resource: memory. Threshold quantity: 100Mi, available: 87040Ki. "
        "Container workflow was using 1048576Ki, request is 0, has larger consumption of memory. "
    )
    assert final["conditions"][0] == {
        "type": "DisruptionTarget",
        "status": "True",
        "reason": "TerminationByKubelet",
        "message": message,
        "observedGeneration": 1,
        "lastProbeTime": None,
        "lastTransitionTime": "2025-06-01T10:00:04Z",
    }
    assert (final["phase"], final["reason"], final["message"]) == ("Failed", "Evicted", message)
    terminated = final["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (137, "Error")
    assert _texts(timeline)[-2:] == [
        ("Evicted", message),
        ("Killing", "Stopping container workflow"),
    ]


def test_an_image_that_cannot_be_pulled(scenario_of: MakeScenario) -> None:
    timeline = build_timeline(scenario_of({"FAILURE_MODE": "imagepull"}), NODE, T0)
    error = (
        f'rpc error: code = NotFound desc = failed to pull and unpack image "{IMAGE}": '
        f'failed to resolve reference "{IMAGE}": {IMAGE}: not found'
    )
    assert _texts(timeline) == [
        ("Pulling", f'Pulling image "{IMAGE}"'),
        ("Failed", f'Failed to pull image "{IMAGE}": {error}'),
        ("Failed", "Error: ErrImagePull"),
        ("BackOff", f'Back-off pulling image "{IMAGE}"'),
        ("Failed", "Error: ImagePullBackOff"),
    ]
    pulling, backing_off = _statuses(timeline)[-2:]
    assert pulling["containerStatuses"][0]["state"]["waiting"]["message"] == error
    assert backing_off["containerStatuses"][0]["state"]["waiting"]["message"] == (
        f'Back-off pulling image "{IMAGE}": ErrImagePull: {error}'
    )
    assert timeline.repeat is not None
    assert [e.reason for e in timeline.repeat.events] == ["BackOff", "Failed"]
    assert timeline.repeat.start == T0 + timedelta(seconds=13)


def test_a_container_that_must_not_run_as_root(scenario_of: MakeScenario) -> None:
    scenario = scenario_of({"FAILURE_MODE": "config"})
    timeline = build_timeline(scenario, NODE, T0)
    text = (
        "container has runAsNonRoot and image will run as root "
        f'(pod: "{scenario.name}_{scenario.namespace}({scenario.uid})", container: workflow)'
    )
    assert _texts(timeline)[-1] == ("Failed", f"Error: {text}")
    waiting = _statuses(timeline)[-1]["containerStatuses"][0]["state"]["waiting"]
    assert waiting == {"reason": "CreateContainerConfigError", "message": text}
    assert timeline.repeat is not None
    assert [e.reason for e in timeline.repeat.events] == ["Pulled", "Failed"]


def test_a_missing_dependency_leaves_the_pod_pending_with_failed_mounts(
    scenario_of: MakeScenario,
) -> None:
    scenario = scenario_of(secrets=["db"], config_maps=["settings", "flags"])
    scenario = with_missing(scenario, scenario.dependencies[:2])
    timeline = build_timeline(scenario, NODE, T0)
    failed_mounts = [
        ("FailedMount", 'MountVolume.SetUp failed for volume "secret-db" : secret "db" not found'),
        (
            "FailedMount",
            'MountVolume.SetUp failed for volume "configmap-settings" : '
            'configmap "settings" not found',
        ),
    ]
    assert _texts(timeline) == failed_mounts
    assert all(w.event is None or not w.event.about_container for w in timeline.writes)
    assert _describe(timeline)[:2] == [(BIND, None, 0), (STATUS, PENDING, 0)]
    assert len(_statuses(timeline)) == 1
    assert timeline.repeat == Repeat(
        T0 + DEFAULT_PACING.event_repeat,
        DEFAULT_PACING.event_repeat,
        tuple(w.event for w in timeline.writes if w.event is not None),
    )


def test_repeats_come_every_period_after_their_start() -> None:
    repeat = Repeat(T0 + timedelta(seconds=10), timedelta(seconds=10), ())
    assert repeat.next_due(T0) == T0 + timedelta(seconds=10)
    assert repeat.next_due(T0 + timedelta(seconds=10)) == T0 + timedelta(seconds=20)
    assert repeat.next_due(T0 + timedelta(seconds=25)) == T0 + timedelta(seconds=30)


def test_pacing_moves_every_step(scenario_of: MakeScenario) -> None:
    pacing = Pacing(sandbox=timedelta(0), image_pull=timedelta(0))
    described = _describe(build_timeline(scenario_of({"DELAY_SECONDS": "1"}), NODE, T0, pacing))
    assert {seconds for _, _, seconds in described[:-1]} == {0}
    assert described[-1][2] == 1


# --- deletion -----------------------------------------------------------------------------


def test_a_deleted_running_pod_is_stopped_with_sigterm(scenario_of: MakeScenario) -> None:
    scenario = scenario_of({"FAILURE_MODE": "timeout"})
    running = _statuses(build_timeline(scenario, NODE, T0))[-1]
    at = T0 + timedelta(seconds=30)
    writes = termination(scenario, NODE, running, at)
    assert [w.kind for w in writes] == [EVENT, STATUS]
    assert writes[0].event is not None
    assert (writes[0].event.reason, writes[0].event.message) == (
        "Killing",
        "Stopping container workflow",
    )
    final = writes[1].document
    assert final["phase"] == "Failed"
    assert final["containerStatuses"][0]["state"]["terminated"] == {
        "exitCode": 143,
        "reason": "Error",
        "startedAt": "2025-06-01T10:00:02Z",
        "finishedAt": "2025-06-01T10:00:30Z",
        "containerID": identity.container_id(scenario.uid, "workflow"),
    }
    assert ("Ready", "False", "PodFailed") in _conditions(final)


@pytest.mark.parametrize("mode", ["imagepull", "config"])
def test_a_deleted_pod_whose_container_never_ran(mode: str, scenario_of: MakeScenario) -> None:
    scenario = scenario_of({"FAILURE_MODE": mode})
    waiting = _statuses(build_timeline(scenario, NODE, T0))[-1]
    (write,) = termination(scenario, NODE, waiting, T0 + timedelta(seconds=30))
    assert write.document["phase"] == "Failed"
    assert write.document["containerStatuses"][0]["state"]["terminated"] == {
        "exitCode": 137,
        "reason": "ContainerStatusUnknown",
        "message": "The container could not be located when the pod was terminated",
        "startedAt": None,
        "finishedAt": None,
    }


def test_a_deleted_pod_that_had_ended_gets_no_more_status(scenario_of: MakeScenario) -> None:
    scenario = scenario_of()
    done = _statuses(build_timeline(scenario, NODE, T0))[-1]
    assert termination(scenario, NODE, done, T0 + timedelta(seconds=30)) == []


# --- resuming -----------------------------------------------------------------------------


def _as_read(
    pod: Mapping[str, Any], status: Mapping[str, Any] | None, bound: bool
) -> dict[str, Any]:
    spec = {**pod["spec"], "nodeName": NODE.name} if bound else pod["spec"]
    return {**pod, "spec": spec, "status": dict(status or pod["status"])}


def test_a_new_pod_is_played_from_its_binding(make_pod: MakePod, scenario_of: MakeScenario) -> None:
    timeline = build_timeline(scenario_of(), NODE, T0)
    assert pending_writes(timeline, make_pod()) == list(timeline.writes)


def test_a_bound_pod_without_status_is_not_bound_again(
    make_pod: MakePod, scenario_of: MakeScenario
) -> None:
    timeline = build_timeline(scenario_of(), NODE, T0)
    resumed = pending_writes(timeline, _as_read(make_pod(), None, bound=True))
    assert resumed == list(timeline.writes[1:])


def test_a_running_pod_resumes_after_its_last_status(
    make_pod: MakePod, scenario_of: MakeScenario
) -> None:
    timeline = build_timeline(scenario_of(), NODE, T0)
    running = _statuses(timeline)[2]
    resumed: list[Write] = pending_writes(timeline, _as_read(make_pod(), running, bound=True))
    assert [(w.kind, _signature(w.document)) for w in resumed] == [
        (STATUS, ("Succeeded", True, "terminated", "Completed"))
    ]


def test_an_ended_pod_has_nothing_left(make_pod: MakePod, scenario_of: MakeScenario) -> None:
    timeline = build_timeline(scenario_of({"FAILURE_MODE": "exit"}), NODE, T0)
    final = _statuses(timeline)[-1]
    assert pending_writes(timeline, _as_read(make_pod(), final, bound=True)) == []


def test_outcomes_cover_every_mode() -> None:
    assert {mode or "succeed" for mode in SEQUENCES} | {"missing-dependency"} == {
        outcome.value for outcome in Outcome
    }
