"""What a Job, its pods and their Events say (`core.jobstatus`), for every outcome of
job-engine.md §9 written as Kubernetes 1.31+ writes it (job controller, kubelet, containerd), for
the Job this controller builds (no Ignore rule for exit code 137); and the `failureDetails` each
failed ending becomes (`core.failure.job_failure_details`)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from kubernaut_wfe.constants import FailureReason
from kubernaut_wfe.core.failure import job_failure_details
from kubernaut_wfe.core.jobstatus import JobEnding, JobProgress, job_progress
from kubernaut_wfe.core.validation import parse_wfe

from .conftest import NOW, make_wfe_raw  # noqa: TID252

NS = "kubernaut-workflows"
JOB = "wfe-f3457dcc8fbcb6d9"
JOB_UID = "7c0e1f2a-job-uid"
IMAGE = "quay.io/kubernaut/workflows/restart:v2"
STARTED = "2025-06-01T10:00:00Z"
ENDED = "2025-06-01T10:01:05Z"
BACKOFF = "Job has reached the specified backoff limit"
DEADLINE = "Job was active longer than specified deadline"
PULL_ERROR = (
    f'Failed to pull image "{IMAGE}": rpc error: code = NotFound desc = failed to pull and unpack'
    f' image "{IMAGE}": failed to resolve reference "{IMAGE}": {IMAGE}: not found'
)
QUOTA = (
    f'Error creating: pods "{JOB}-q8w2n" is forbidden: exceeded quota: workflows, requested:'
    " pods=1, used: pods=1, limited: pods=1"
)


def job(**status: Any) -> dict[str, Any]:
    """Our Job as the API returns it, with the job controller's `status`."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": JOB,
            "namespace": NS,
            "uid": JOB_UID,
            "labels": {
                "kubernaut.ai/workflow-execution": "restart-nginx",
                "kubernaut.ai/execution-engine": "job",
            },
        },
        "spec": {"backoffLimit": 0, "activeDeadlineSeconds": 1800, "completions": 1},
        "status": {"startTime": STARTED, "terminating": 0, "uncountedTerminatedPods": {}, **status},
    }


def condition(kind: str, reason: str, message: str, at: str = ENDED) -> dict[str, str]:
    return {
        "type": kind,
        "status": "True",
        "reason": reason,
        "message": message,
        "lastProbeTime": at,
        "lastTransitionTime": at,
    }


SUCCEEDED = [
    condition(
        "SuccessCriteriaMet", "CompletionsReached", "Reached expected number of succeeded pods"
    ),
    condition("Complete", "CompletionsReached", "Reached expected number of succeeded pods"),
]
BACKED_OFF = [
    condition("FailureTarget", "BackoffLimitExceeded", BACKOFF),
    condition("Failed", "BackoffLimitExceeded", BACKOFF),
]
TIMED_OUT = [
    condition("FailureTarget", "DeadlineExceeded", DEADLINE, "2025-06-01T10:30:00Z"),
    condition("Failed", "DeadlineExceeded", DEADLINE, "2025-06-01T10:30:01Z"),
]


def pod(
    suffix: str,
    phase: str,
    state: dict[str, Any],
    *,
    created: str = STARTED,
    conditions: list[dict[str, Any]] | None = None,
    owner: str = JOB_UID,
) -> dict[str, Any]:
    """A pod of the Job: `generateName` `<job>-`, the tracking finalizer, the owner reference."""
    name = f"{JOB}-{suffix}"
    return {
        "metadata": {
            "name": name,
            "generateName": f"{JOB}-",
            "namespace": NS,
            "uid": f"{suffix}-pod-uid",
            "creationTimestamp": created,
            "finalizers": ["batch.kubernetes.io/job-tracking"],
            "labels": {"batch.kubernetes.io/controller-uid": owner, "job-name": JOB},
            "ownerReferences": [
                {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "name": JOB,
                    "uid": owner,
                    "controller": True,
                }
            ],
        },
        "spec": {
            "containers": [
                {"name": "workflow", "image": IMAGE, "resources": {"limits": {"memory": "64Mi"}}}
            ]
        },
        "status": {
            "phase": phase,
            "conditions": conditions or [],
            "containerStatuses": [
                {
                    "name": "workflow",
                    "image": IMAGE,
                    "ready": False,
                    "restartCount": 0,
                    "state": state,
                }
            ],
        },
    }


def ran(exit_code: int, reason: str, **extra: Any) -> dict[str, Any]:
    return {
        "terminated": {
            "exitCode": exit_code,
            "reason": reason,
            "startedAt": "2025-06-01T10:00:04Z",
            "finishedAt": "2025-06-01T10:01:04Z",
            **extra,
        }
    }


NEVER_RAN = {
    "terminated": {
        "exitCode": 137,
        "reason": "ContainerStatusUnknown",
        "message": "The container could not be located when the pod was terminated",
    }
}


def event(
    kind: str, name: str, reason: str, message: str, *, warning: bool = True, uid: str = ""
) -> dict[str, Any]:
    return {
        "metadata": {"name": f"{name}.18a2b3c4d5e6f7a8", "namespace": NS},
        "involvedObject": {"kind": kind, "name": name, "namespace": NS, "uid": uid},
        "reason": reason,
        "message": message,
        "type": "Warning" if warning else "Normal",
        "count": 1,
        "firstTimestamp": "2025-06-01T10:00:02Z",
        "lastTimestamp": "2025-06-01T10:00:02Z",
    }


def created(suffix: str) -> dict[str, Any]:
    return event(
        "Job", JOB, "SuccessfulCreate", f"Created pod: {JOB}-{suffix}", warning=False, uid=JOB_UID
    )


def on_pod(suffix: str, reason: str, message: str, *, warning: bool = True) -> dict[str, Any]:
    return event(
        "Pod", f"{JOB}-{suffix}", reason, message, warning=warning, uid=f"{suffix}-pod-uid"
    )


PULL_EVENTS = [
    on_pod("7xk2p", "Pulling", f'Pulling image "{IMAGE}"', warning=False),
    on_pod("7xk2p", "Failed", PULL_ERROR),
    on_pod("7xk2p", "Failed", "Error: ErrImagePull"),
    on_pod("7xk2p", "BackOff", f'Back-off pulling image "{IMAGE}"', warning=False),
    on_pod("7xk2p", "Failed", "Error: ImagePullBackOff"),
]
RUN_AS_ROOT = (
    "container has runAsNonRoot and image will run as root"
    f' (pod: "{JOB}-7xk2p_{NS}(7xk2p-pod-uid)", container: workflow)'
)


def missing(kind: str) -> dict[str, Any]:
    volume, lower = ("secret-db", "secret") if kind == "Secret" else ("configmap-db", "configmap")
    return on_pod(
        "7xk2p",
        "FailedMount",
        f'MountVolume.SetUp failed for volume "{volume}" : {lower} "db" not found',
    )


WAITING_MOUNT = {"waiting": {"reason": "ContainerCreating"}}
WAITING_PULL = {
    "waiting": {"reason": "ImagePullBackOff", "message": f'Back-off pulling image "{IMAGE}"'}
}


def outcomes() -> Iterator[Any]:
    """`(id, job, pods, events, expected)`; expected: the ending's fields, or None (running)."""
    yield pytest.param(
        job(completionTime=ENDED, succeeded=1, active=0, ready=0, conditions=SUCCEEDED),
        [pod("7xk2p", "Succeeded", ran(0, "Completed"))],
        [created("7xk2p"), event("Job", JOB, "Completed", "Job completed", warning=False)],
        {"succeeded": True, "reason": None, "message": "", "ended_at": ENDED, "retry": 0},
        id="1-success",
    )
    yield pytest.param(
        job(failed=1, active=0, ready=0, conditions=BACKED_OFF),
        [pod("7xk2p", "Failed", ran(1, "Error", message="deployment nginx not found"))],
        [created("7xk2p"), event("Job", JOB, "BackoffLimitExceeded", BACKOFF, uid=JOB_UID)],
        {
            "reason": FailureReason.TASK_FAILED,
            "message": f'Container "workflow" of pod {JOB}-7xk2p exited with code 1:'
            " deployment nginx not found",
            "exit_code": 1,
            "step_name": "workflow",
            "was_execution_failure": True,
            "ended_at": ENDED,
        },
        id="2-exit-1",
    )
    yield pytest.param(
        job(failed=1, active=0, ready=0, conditions=BACKED_OFF),
        [pod("7xk2p", "Failed", ran(137, "OOMKilled"))],
        [created("7xk2p")],
        {
            "reason": FailureReason.OOM_KILLED,
            "message": f'Container "workflow" of pod {JOB}-7xk2p ran out of memory (OOMKilled,'
            " exit code 137, memory limit 64Mi)",
            "exit_code": 137,
            "step_name": "workflow",
            "was_execution_failure": True,
        },
        id="3-oom-killed-fails-at-once",
    )
    yield pytest.param(
        job(active=1, ready=0),
        [pod("7xk2p", "Pending", WAITING_PULL)],
        [created("7xk2p"), *PULL_EVENTS],
        {
            "reason": FailureReason.IMAGE_PULL_BACK_OFF,
            "message": PULL_ERROR,
            "was_execution_failure": False,
            "ended_at": None,
        },
        id="4-image-pull-back-off-ends-early",
    )
    yield pytest.param(
        job(active=1, ready=0),
        [pod("7xk2p", "Pending", {"waiting": {"reason": "ErrImagePull", "message": PULL_ERROR}})],
        [created("7xk2p"), *PULL_EVENTS[:3]],
        None,
        id="4-a-first-failed-pull-is-retried",
    )
    yield pytest.param(
        job(failed=1, active=0, ready=0, conditions=TIMED_OUT),
        [pod("7xk2p", "Failed", ran(143, "Error"))],
        [created("7xk2p"), event("Job", JOB, "DeadlineExceeded", DEADLINE, uid=JOB_UID)],
        {
            "reason": FailureReason.DEADLINE_EXCEEDED,
            "message": f"{DEADLINE} (activeDeadlineSeconds 1800)",
            "exit_code": None,
            "step_name": None,
            "was_execution_failure": True,
            "ended_at": "2025-06-01T10:30:01Z",
        },
        id="5-deadline-exceeded",
    )
    yield pytest.param(
        job(failed=1, active=0, ready=0, conditions=TIMED_OUT),
        [pod("7xk2p", "Failed", NEVER_RAN)],
        [created("7xk2p"), *PULL_EVENTS],
        {
            "reason": FailureReason.IMAGE_PULL_BACK_OFF,
            "message": PULL_ERROR,
            "was_execution_failure": False,
        },
        id="5-deadline-of-a-pod-that-never-pulled",
    )
    yield pytest.param(
        job(failed=1, active=0, ready=0, conditions=TIMED_OUT),
        [pod("7xk2p", "Failed", NEVER_RAN)],
        [created("7xk2p"), missing("Secret")],
        {"reason": FailureReason.CONFIGURATION_ERROR, "was_execution_failure": False},
        id="5-deadline-of-a-pod-that-never-mounted",
    )
    yield pytest.param(
        job(failed=1, active=0, ready=0, conditions=TIMED_OUT),
        [pod("7xk2p", "Failed", NEVER_RAN)],
        [created("7xk2p"), on_pod("7xk2p", "Failed", f"Error: {RUN_AS_ROOT}")],
        {
            "reason": FailureReason.CONFIGURATION_ERROR,
            "message": RUN_AS_ROOT,
            "was_execution_failure": False,
        },
        id="5-deadline-of-a-pod-that-could-not-be-configured",
    )
    for kind in ("Secret", "ConfigMap"):
        yield pytest.param(
            job(active=1, ready=0),
            [pod("7xk2p", "Pending", WAITING_MOUNT)],
            [created("7xk2p"), missing(kind), missing(kind)],
            {
                "reason": FailureReason.CONFIGURATION_ERROR,
                "message": f'{kind} "db" not found in namespace {NS}: the workflow\'s pod'
                f" {JOB}-7xk2p cannot start (FailedMount: {missing(kind)['message']})",
                "was_execution_failure": False,
            },
            id=f"6-missing-{kind.lower()}-ends-early",
        )
    yield pytest.param(
        job(active=1, ready=0),
        [
            pod(
                "7xk2p",
                "Pending",
                {"waiting": {"reason": "CreateContainerConfigError", "message": RUN_AS_ROOT}},
            )
        ],
        [created("7xk2p"), on_pod("7xk2p", "Failed", f"Error: {RUN_AS_ROOT}")],
        {
            "reason": FailureReason.CONFIGURATION_ERROR,
            "message": RUN_AS_ROOT,
            "was_execution_failure": False,
        },
        id="6-create-container-config-error-ends-early",
    )
    yield pytest.param(
        job(active=0, ready=0),
        [],
        [event("Job", JOB, "FailedCreate", QUOTA, uid=JOB_UID)],
        {
            "reason": FailureReason.RESOURCE_EXHAUSTED,
            "message": QUOTA,
            "was_execution_failure": False,
        },
        id="quota-refuses-the-pod",
    )
    yield pytest.param(
        job(completionTime=ENDED, succeeded=1, active=0, ready=0, conditions=SUCCEEDED),
        [
            pod(
                "4hz9c",
                "Failed",
                ran(137, "Error"),
                conditions=[
                    {"type": "DisruptionTarget", "status": "True", "reason": "TerminationByKubelet"}
                ],
            ),
            pod("7xk2p", "Succeeded", ran(0, "Completed"), created="2025-06-01T10:00:30Z"),
        ],
        [created("4hz9c"), created("7xk2p")],
        {"succeeded": True, "reason": None, "retry": 1},
        id="7-disruption-then-success",
    )


@pytest.mark.parametrize(("the_job", "pods", "events", "expected"), list(outcomes()))
def test_each_outcome(
    the_job: dict[str, Any],
    pods: list[dict[str, Any]],
    events: list[dict[str, Any]],
    expected: dict[str, Any] | None,
) -> None:
    progress = job_progress(the_job, pods, events)
    if expected is None:
        assert progress.ending is None
        return
    ending = progress.ending
    assert ending is not None
    wanted = {"succeeded": False, **expected}
    retry = wanted.pop("retry", None)
    if isinstance(wanted.get("ended_at"), str):
        wanted["ended_at"] = datetime.fromisoformat(wanted["ended_at"].replace("Z", "+00:00"))
    assert {key: getattr(ending, key) for key in wanted} == wanted
    if retry is not None:
        assert progress.retry_count == retry
    # The same reading whatever the order the documents came in.
    again = job_progress(the_job, list(reversed(pods)), list(reversed(events)))
    assert again == progress


def test_a_succeeded_ending_says_nothing_more() -> None:
    progress = job_progress(
        job(completionTime=ENDED, succeeded=1, active=0, conditions=SUCCEEDED),
        [pod("7xk2p", "Succeeded", ran(0, "Completed"))],
        [],
    )
    assert progress.ending == JobEnding(
        succeeded=True,
        reason=None,
        message="",
        ended_at=datetime(2025, 6, 1, 10, 1, 5, tzinfo=UTC),
    )
    assert (progress.active, progress.retry_count) == (0, 0)


def test_a_running_job_reports_its_pods() -> None:
    running = {"running": {"startedAt": "2025-06-01T10:00:04Z"}}
    progress = job_progress(job(active=1, ready=1), [pod("7xk2p", "Running", running)], [])
    assert progress == JobProgress(ending=None, active=1, retry_count=0, message="1 pod(s) active")


def test_a_retried_pod_is_counted_while_the_next_runs() -> None:
    disrupted = pod(
        "4hz9c",
        "Failed",
        ran(137, "Error"),
        conditions=[
            {"type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler"}
        ],
    )
    running = pod("7xk2p", "Running", {"running": {"startedAt": "2025-06-01T10:00:40Z"}})
    progress = job_progress(job(active=1, ready=1), [disrupted, running], [])
    assert progress.ending is None
    assert progress.retry_count == 1
    assert progress.message == "1 pod(s) active, 1 disrupted and replaced"


def test_interim_conditions_wait_for_the_terminal_one() -> None:
    """Upstream's order: `SuccessCriteriaMet`/`FailureTarget` first, while pods terminate."""
    success = job(succeeded=1, active=0, conditions=SUCCEEDED[:1])
    assert (
        job_progress(success, [pod("7xk2p", "Succeeded", ran(0, "Completed"))], []).ending is None
    )
    terminating = job(active=0, terminating=1, conditions=TIMED_OUT[:1])
    pending = pod("7xk2p", "Pending", WAITING_MOUNT)
    assert job_progress(terminating, [pending], [missing("Secret")]).ending is None


def test_the_job_controllers_reason_and_message_name_an_unknown_failure() -> None:
    failed = job(failed=1, active=0, conditions=[condition("Failed", "PodFailurePolicy", "")])
    ending = job_progress(failed, [], []).ending
    assert ending is not None
    assert (ending.reason, ending.message) == (
        FailureReason.UNKNOWN,
        "Job failed (PodFailurePolicy)",
    )
    # No pod to look at, but the Job counted a failed one: it may have run.
    assert ending.was_execution_failure is True
    deleted = job(failed=1, active=0, conditions=BACKED_OFF)
    ending = job_progress(deleted, [pod("7xk2p", "Failed", NEVER_RAN)], []).ending
    assert ending is not None
    assert (ending.reason, ending.message, ending.exit_code) == (
        FailureReason.UNKNOWN,
        BACKOFF,
        None,
    )
    assert ending.was_execution_failure is False


def test_an_image_pull_failure_is_image_pull_back_off_and_no_execution_failure() -> None:
    """Upstream defect: it waits for the deadline, then fails `Unknown` with
    `wasExecutionFailure` true although nothing ran."""
    ending = job_progress(
        job(active=1), [pod("7xk2p", "Pending", WAITING_PULL)], PULL_EVENTS
    ).ending
    assert ending is not None
    assert ending.reason == FailureReason.IMAGE_PULL_BACK_OFF
    assert ending.was_execution_failure is False
    wfe = parse_wfe(_running_wfe())
    details = job_failure_details(wfe, ending, NOW)
    assert details.reason == FailureReason.IMAGE_PULL_BACK_OFF
    assert details.was_execution_failure is False


def test_without_events_the_kubelets_waiting_message_is_the_pull_error() -> None:
    ending = job_progress(job(active=1), [pod("7xk2p", "Pending", WAITING_PULL)], []).ending
    assert ending is not None
    assert ending.message == f'Back-off pulling image "{IMAGE}"'


def test_a_passing_mount_failure_of_the_token_volume_ends_nothing() -> None:
    """The kubelet often reports the projected token's ConfigMap as not registered yet."""
    transient = on_pod(
        "7xk2p",
        "FailedMount",
        'MountVolume.SetUp failed for volume "kube-api-access-8k2lp" : object'
        f' "{NS}"/"kube-root-ca.crt" not registered',
    )
    assert (
        job_progress(job(active=1), [pod("7xk2p", "Pending", WAITING_MOUNT)], [transient]).ending
        is None
    )


@pytest.mark.parametrize(
    ("refused", "reason"),
    [
        (
            f'Error creating: pods "{JOB}-q8w2n" is forbidden: violates PodSecurity'
            ' "restricted:latest": runAsNonRoot != true',
            FailureReason.FORBIDDEN,
        ),
        (
            f'Error creating: pods "{JOB}-" is forbidden: error looking up service account'
            " kubernaut-workflows/kubernaut-workflow-runner: serviceaccount"
            ' "kubernaut-workflow-runner" not found',
            FailureReason.CONFIGURATION_ERROR,
        ),
    ],
)
def test_a_lasting_refusal_of_the_pod_ends_the_job_early(
    refused: str, reason: FailureReason
) -> None:
    progress = job_progress(
        job(active=0), [], [event("Job", JOB, "FailedCreate", refused, uid=JOB_UID)]
    )
    assert progress.ending is not None
    assert progress.ending.reason == reason
    assert progress.ending.message == refused
    assert progress.ending.was_execution_failure is False


def test_a_passing_refusal_is_noted_and_the_job_goes_on() -> None:
    refused = "Error creating: Timeout: request did not complete within requested timeout"
    progress = job_progress(
        job(active=0), [], [event("Job", JOB, "FailedCreate", refused, uid=JOB_UID)]
    )
    assert progress.ending is None
    assert progress.message == f"0 pod(s) active; pod creation failed: {refused}"


def test_a_quota_refusal_while_a_pod_runs_ends_nothing() -> None:
    running = pod("7xk2p", "Running", {"running": {"startedAt": "2025-06-01T10:00:04Z"}})
    quota = event("Job", JOB, "FailedCreate", QUOTA, uid=JOB_UID)
    assert job_progress(job(active=1), [running], [quota]).ending is None


def test_pods_and_events_of_an_earlier_job_of_the_same_name_are_not_this_ones() -> None:
    """The lock name is reused: the previous Job's pods may still be terminating and its Events
    live on for an hour."""
    old_quota = event("Job", JOB, "FailedCreate", QUOTA, uid="0ld-job-uid")
    assert job_progress(job(active=0), [], [old_quota]).ending is None
    old_pod = pod("0ldpd", "Failed", ran(137, "OOMKilled"), owner="0ld-job-uid")
    new_pod = pod("7xk2p", "Failed", ran(2, "Error"), created="2025-05-31T23:00:00Z")
    ending = job_progress(
        job(failed=1, active=0, conditions=BACKED_OFF), [old_pod, new_pod], []
    ).ending
    assert ending is not None
    assert (ending.reason, ending.exit_code) == (FailureReason.TASK_FAILED, 2)


def test_the_newest_failed_pod_is_the_one_that_failed_the_job() -> None:
    older = pod("aaaaa", "Failed", ran(3, "Error"), created="2025-06-01T10:00:00Z")
    newer = pod("bbbbb", "Failed", ran(4, "Error"), created="2025-06-01T10:00:50Z")
    ending = job_progress(job(failed=2, active=0, conditions=BACKED_OFF), [newer, older], []).ending
    assert ending is not None
    assert ending.exit_code == 4


# Malformed documents: every value replaced by every wrong type, one at a time.
WRONG = [None, "", "x", 7, -1, True, 1.5, [], {}, [None], ["x"], {"a": None}]


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, value in items:
        yield (*prefix, key)
        yield from _paths(value, (*prefix, key))


def _replaced(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    copied = copy.deepcopy(document)
    node = copied
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return copied


@pytest.mark.parametrize(("the_job", "pods", "events", "expected"), list(outcomes()))
def test_malformed_documents_never_raise(
    the_job: dict[str, Any], pods: list[dict[str, Any]], events: list[dict[str, Any]], expected: Any
) -> None:
    whole = {"job": the_job, "pods": pods, "events": events}
    wfe = parse_wfe(_running_wfe())
    for path in _paths(whole):
        for value in WRONG:
            broken = _replaced(whole, path, value)
            progress = job_progress(broken["job"], broken["pods"], broken["events"])
            assert isinstance(progress.message, str)
            if progress.ending is not None and not progress.ending.succeeded:
                job_failure_details(wfe, progress.ending, NOW)


@pytest.mark.parametrize(
    "documents",
    [
        ({}, [], []),
        ({"status": "nope", "metadata": []}, [None, "pod", 3], ["event", None]),
        (job(conditions={"type": "Complete"}), [{"status": {"containerStatuses": "x"}}], [{}]),
        (job(conditions=[condition("Failed", "", "", at="yesterday")]), [], []),
        (job(conditions=[condition("Complete", "", "", at="2025-06-01T10:01:05")]), [], []),
    ],
)
def test_documents_of_the_wrong_shape_read_as_unknown(documents: tuple[Any, Any, Any]) -> None:
    the_job, pods, events = documents
    progress = job_progress(the_job, pods, events)
    if progress.ending is not None:
        assert progress.ending.ended_at is None or progress.ending.ended_at.tzinfo is not None


def test_a_condition_time_without_a_zone_is_utc() -> None:
    the_job = job(completionTime="2025-06-01T10:01:05", conditions=SUCCEEDED)
    ending = job_progress(the_job, [], []).ending
    assert ending is not None
    assert ending.ended_at == datetime(2025, 6, 1, 10, 1, 5, tzinfo=UTC)


def _running_wfe() -> dict[str, Any]:
    raw = make_wfe_raw(phase="Running", status={"startTime": "2025-06-01T10:00:00Z"})
    raw["spec"]["workflowRef"]["executionEngine"] = "job"
    return raw


def test_failure_details_of_a_failed_container() -> None:
    the_job = job(failed=1, active=0, conditions=BACKED_OFF)
    failed = pod("7xk2p", "Failed", ran(1, "Error", message="boom"))
    ending = job_progress(the_job, [failed], []).ending
    assert ending is not None
    details = job_failure_details(parse_wfe(_running_wfe()), ending, NOW)
    assert (details.failed_task_index, details.failed_task_name) == (0, "workflow")
    assert (details.failed_step_name, details.exit_code) == ("workflow", 1)
    assert details.reason == FailureReason.TASK_FAILED
    assert details.failed_at == datetime(2025, 6, 1, 10, 1, 5, tzinfo=UTC)  # the Job's time
    assert details.execution_time_before_failure == "1m5s"
    assert details.was_execution_failure is True
    assert details.natural_language_summary.splitlines() == [
        "Workflow restart failed on target default/deployment/nginx.",
        "Reason: TaskFailed.",
        f'Error: Container "workflow" of pod {JOB}-7xk2p exited with code 1: boom',
        "Failed task: workflow, exit code 1.",
        "It ran for 1m5s before failing.",
        "Recommendation: Read the logs of the Job's pod to see why the workflow exited non-zero.",
    ]
    assert set(details.to_api()) >= {
        "failedTaskIndex",
        "failedTaskName",
        "reason",
        "message",
        "failedAt",
        "executionTimeBeforeFailure",
        "naturalLanguageSummary",
    }


def test_failure_details_of_an_early_end_use_now_and_name_no_task() -> None:
    ending = JobEnding(False, FailureReason.CONFIGURATION_ERROR, "secret missing")
    details = job_failure_details(parse_wfe(_running_wfe()), ending, NOW)
    assert details.failed_at == NOW
    assert details.execution_time_before_failure == "2m0s"
    assert (details.failed_task_name, details.failed_step_name, details.exit_code) == (
        "",
        None,
        None,
    )
    assert details.was_execution_failure is False
    never_started = parse_wfe(make_wfe_raw())
    assert job_failure_details(never_started, ending, NOW).execution_time_before_failure == ""


@pytest.mark.parametrize(
    ("engine", "fragment"),
    [("job", "Inspect the Job, its pods and their Events"), ("tekton", "Inspect the PipelineRun")],
)
def test_the_unknown_recommendation_speaks_of_the_wfes_engine(engine: str, fragment: str) -> None:
    raw = _running_wfe()
    raw["spec"]["workflowRef"]["executionEngine"] = engine
    ending = JobEnding(False, FailureReason.UNKNOWN, "odd")
    summary = job_failure_details(parse_wfe(raw), ending, NOW).natural_language_summary
    assert summary.splitlines()[-1].startswith(f"Recommendation: {fragment}")
