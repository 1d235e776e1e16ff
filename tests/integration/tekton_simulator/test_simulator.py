"""The simulator driving PipelineRuns end to end in the API emulator (which enforces the CRDs)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from kubernaut_wfe_tools.emulator import ApiEmulator
from kubernaut_wfe_tools.tekton_simulator import Pacing, TektonSimulator, companion
from kubernaut_wfe_tools.tekton_simulator.samples import (
    FAILING_BUNDLE,
    HELLO_WORLD_BUNDLE,
    SAMPLE_NAME,
    SAMPLE_NAMESPACE,
    sample_pipelinerun,
)

PIPELINERUNS = f"/apis/tekton.dev/v1/namespaces/{SAMPLE_NAMESPACE}/pipelineruns"
TASKRUNS = f"/apis/tekton.dev/v1/namespaces/{SAMPLE_NAMESPACE}/taskruns"
WaitFor = Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]


async def _create(client: httpx.AsyncClient, mode: str, **options: Any) -> dict[str, Any]:
    bundle = HELLO_WORLD_BUNDLE if mode == "succeed" else FAILING_BUNDLE
    params = {"FAILURE_MODE": mode, "DELAY_SECONDS": options.pop("delay", "0")}
    run = sample_pipelinerun(bundle=bundle, params=params, uid=None, **options)
    response = await client.post(PIPELINERUNS, json=run)
    response.raise_for_status()
    created: dict[str, Any] = response.json()
    return created


async def _get(client: httpx.AsyncClient, path: str) -> dict[str, Any] | None:
    response = await client.get(path)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    found: dict[str, Any] = response.json()
    return found


def _condition(obj: dict[str, Any] | None) -> dict[str, Any]:
    conditions = ((obj or {}).get("status") or {}).get("conditions") or [{}]
    return dict(conditions[0])


async def _finished(client: httpx.AsyncClient, wait_for: WaitFor, path: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        obj = await _get(client, path)
        return obj if _condition(obj).get("status") in {"True", "False"} else None

    finished: dict[str, Any] = await wait_for(probe)
    return finished


async def _step_running(client: httpx.AsyncClient, wait_for: WaitFor, taskrun_path: str) -> None:
    async def step_running() -> bool:
        return _condition(await _get(client, taskrun_path)).get("reason") == "Running"

    await wait_for(step_running)


@pytest.mark.parametrize(
    "case",
    [
        ("succeed", "hello", "Succeeded", "Succeeded", "All Steps have completed executing"),
        ("exit", "fail-task", "Failed", "Failed", '"step-fail" exited with code 1: Error'),
        ("oom", "fail-task", "Failed", "Failed", '"step-fail" exited with code 137: OOMKilled'),
    ],
)
async def test_runs_end_with_the_tekton_documents(
    client: httpx.AsyncClient,
    emulator: ApiEmulator,
    fast_pacing: Pacing,
    wait_for: WaitFor,
    case: tuple[str, str, str, str, str],
) -> None:
    mode, task, pr_reason, tr_reason, tr_message = case
    async with TektonSimulator(emulator.url, pacing=fast_pacing):
        created = await _create(client, mode)
        pipelinerun = await _finished(client, wait_for, f"{PIPELINERUNS}/{SAMPLE_NAME}")
        taskrun = await _finished(client, wait_for, f"{TASKRUNS}/{SAMPLE_NAME}-{task}")
    assert pipelinerun["metadata"]["labels"]["tekton.dev/pipeline"] == "workflow"
    status = pipelinerun["status"]
    assert _condition(pipelinerun)["reason"] == pr_reason
    assert status["completionTime"] == _condition(pipelinerun)["lastTransitionTime"]
    assert status["childReferences"] == [
        {
            "apiVersion": "tekton.dev/v1",
            "kind": "TaskRun",
            "name": f"{SAMPLE_NAME}-{task}",
            "pipelineTaskName": task,
        }
    ]
    assert (_condition(taskrun)["reason"], _condition(taskrun)["message"]) == (
        tr_reason,
        tr_message,
    )
    assert taskrun["metadata"]["ownerReferences"][0]["uid"] == created["metadata"]["uid"]
    assert taskrun["metadata"]["labels"]["tekton.dev/pipelineRunUID"] == created["metadata"]["uid"]
    assert taskrun["status"]["podName"] == f"{SAMPLE_NAME}-{task}-pod"


async def test_pipeline_timeout_times_out_the_run_then_cancels_the_child(
    client: httpx.AsyncClient, emulator: ApiEmulator, fast_pacing: Pacing, wait_for: WaitFor
) -> None:
    async with TektonSimulator(emulator.url, pacing=fast_pacing):
        await _create(client, "timeout", timeout="2s")
        pipelinerun = await _finished(client, wait_for, f"{PIPELINERUNS}/{SAMPLE_NAME}")
        taskrun = await _finished(client, wait_for, f"{TASKRUNS}/{SAMPLE_NAME}-fail-task")
    assert _condition(pipelinerun)["reason"] == "PipelineRunTimeout"
    assert (
        _condition(pipelinerun)["message"]
        == f'PipelineRun "{SAMPLE_NAME}" failed to finish within "2s"'
    )
    assert _condition(taskrun)["reason"] == "TaskRunCancelled"
    assert taskrun["spec"]["status"] == "TaskRunCancelled"
    (step,) = taskrun["status"]["steps"]
    assert step["terminated"]["reason"] == "TaskRunCancelled"
    assert step["terminated"]["exitCode"] == 1


async def test_deleting_a_run_stops_it_and_deletes_its_taskruns(
    client: httpx.AsyncClient, emulator: ApiEmulator, fast_pacing: Pacing, wait_for: WaitFor
) -> None:
    taskrun_path = f"{TASKRUNS}/{SAMPLE_NAME}-fail-task"
    async with TektonSimulator(emulator.url, pacing=fast_pacing):
        await _create(client, "timeout", timeout="0")
        await _step_running(client, wait_for, taskrun_path)
        (await client.delete(f"{PIPELINERUNS}/{SAMPLE_NAME}")).raise_for_status()

        async def taskrun_gone() -> bool:
            return await _get(client, taskrun_path) is None

        await wait_for(taskrun_gone)
        # The same name again is a new run with a new uid, and is driven from the start.
        await _create(client, "exit")
        pipelinerun = await _finished(client, wait_for, f"{PIPELINERUNS}/{SAMPLE_NAME}")
    assert _condition(pipelinerun)["reason"] == "Failed"


class _StoppedClock:
    """Time stands still at its creation: every write due by then is made, the next never is."""

    def __init__(self) -> None:
        self._now = datetime.now(UTC)

    def now(self) -> datetime:
        return self._now

    async def sleep(self, seconds: float) -> None:
        await asyncio.Event().wait()


async def test_a_restarted_simulator_resumes_the_run(
    client: httpx.AsyncClient, emulator: ApiEmulator, fast_pacing: Pacing, wait_for: WaitFor
) -> None:
    taskrun_path = f"{TASKRUNS}/{SAMPLE_NAME}-hello"
    # The first simulator holds the step running (however slow the machine) until it is stopped.
    async with TektonSimulator(emulator.url, pacing=fast_pacing, clock=_StoppedClock()):
        await _create(client, "succeed", delay="1")
        await _step_running(client, wait_for, taskrun_path)
    async with TektonSimulator(emulator.url, pacing=fast_pacing):
        pipelinerun = await _finished(client, wait_for, f"{PIPELINERUNS}/{SAMPLE_NAME}")
    assert _condition(pipelinerun)["reason"] == "Succeeded"
    taskruns = (await client.get(TASKRUNS)).json()["items"]
    assert [t["metadata"]["name"] for t in taskruns] == [f"{SAMPLE_NAME}-hello"]
    assert _condition(taskruns[0])["reason"] == "Succeeded"


async def test_manual_mode_drives_only_on_request_and_writes_by_hand(
    client: httpx.AsyncClient, emulator: ApiEmulator, fast_pacing: Pacing
) -> None:
    async with TektonSimulator(emulator.url, auto=False, pacing=fast_pacing) as simulator:
        await _create(client, "missing")
        assert "status" not in (await _get(client, f"{PIPELINERUNS}/{SAMPLE_NAME}") or {})
        await simulator.drive(SAMPLE_NAMESPACE, SAMPLE_NAME)
        driven = await _get(client, f"{PIPELINERUNS}/{SAMPLE_NAME}")
        assert _condition(driven)["reason"] == "CouldntGetPipeline"
        written = await simulator.write_pipelinerun_status(
            SAMPLE_NAMESPACE,
            SAMPLE_NAME,
            {
                "conditions": [
                    {
                        "type": "Succeeded",
                        "status": "Unknown",
                        "reason": "Running",
                        "message": "by hand",
                    }
                ]
            },
        )
    assert written["status"] == {
        "conditions": [
            {"type": "Succeeded", "status": "Unknown", "reason": "Running", "message": "by hand"}
        ]
    }


async def test_companion_runs_with_the_emulator(fast_pacing: Pacing, wait_for: WaitFor) -> None:
    emulator = ApiEmulator()
    emulator.companions.append(companion(pacing=fast_pacing, namespaces=[SAMPLE_NAMESPACE]))
    async with (
        emulator.serving(host="127.0.0.1", port=0),
        httpx.AsyncClient(base_url=emulator.url) as client,
    ):
        namespace = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": SAMPLE_NAMESPACE},
        }
        (await client.post("/api/v1/namespaces", json=namespace)).raise_for_status()
        await _create(client, "succeed")
        pipelinerun = await _finished(client, wait_for, f"{PIPELINERUNS}/{SAMPLE_NAME}")
    assert _condition(pipelinerun)["reason"] == "Succeeded"


@pytest.mark.parametrize(
    "fault",
    [
        {
            "action": "error",
            "count": 2,
            "verb": "update",
            "resource": "pipelineruns",
            "status": 500,
        },
        {"action": "error", "count": 2, "verb": "update", "resource": "taskruns", "status": 409},
        {"action": "error", "count": 1, "verb": "create", "resource": "taskruns", "status": 503},
        {"action": "error", "count": 1, "verb": "create", "resource": "taskruns", "status": 409},
        {"action": "error", "count": 1, "verb": "patch", "resource": "pipelineruns", "status": 429},
        # The API server's "storage is (re)initializing" right after the CRDs are installed:
        {"action": "error", "count": 2, "verb": "list", "resource": "taskruns", "status": 429},
        {"action": "error", "count": 1, "verb": "list", "resource": "pipelineruns", "status": 429},
    ],
)
async def test_transient_api_failures_are_retried(
    client: httpx.AsyncClient,
    emulator: ApiEmulator,
    fast_pacing: Pacing,
    wait_for: WaitFor,
    fault: dict[str, Any],
) -> None:
    rule = emulator.faults.add(**fault)
    async with TektonSimulator(emulator.url, pacing=fast_pacing):
        await _create(client, "exit")
        pipelinerun = await _finished(client, wait_for, f"{PIPELINERUNS}/{SAMPLE_NAME}")
        taskrun = await _finished(client, wait_for, f"{TASKRUNS}/{SAMPLE_NAME}-fail-task")
    assert rule.served == fault["count"]
    assert _condition(pipelinerun)["reason"] == "Failed"
    assert _condition(taskrun)["message"] == '"step-fail" exited with code 1: Error'


async def test_a_dropped_watch_is_reopened(
    client: httpx.AsyncClient, emulator: ApiEmulator, fast_pacing: Pacing, wait_for: WaitFor
) -> None:
    async with TektonSimulator(emulator.url, pacing=fast_pacing):
        await _create(client, "succeed")
        await _finished(client, wait_for, f"{PIPELINERUNS}/{SAMPLE_NAME}")
        emulator.faults.add(action="drop-watch", resource="pipelineruns")
        second = sample_pipelinerun(bundle=FAILING_BUNDLE, name="wfe-cf0cc089293b1165", uid=None)
        second["spec"]["params"].insert(0, {"name": "DELAY_SECONDS", "value": "0"})
        (await client.post(PIPELINERUNS, json=second)).raise_for_status()
        pipelinerun = await _finished(client, wait_for, f"{PIPELINERUNS}/wfe-cf0cc089293b1165")
    assert _condition(pipelinerun)["reason"] == "Failed"


async def test_a_run_finished_by_hand_is_left_alone(
    client: httpx.AsyncClient, emulator: ApiEmulator, fast_pacing: Pacing
) -> None:
    finished = {
        "startTime": "2025-06-01T10:00:00Z",
        "completionTime": "2025-06-01T10:00:05Z",
        "conditions": [
            {
                "type": "Succeeded",
                "status": "False",
                "reason": "Cancelled",
                "message": f'PipelineRun "{SAMPLE_NAME}" was cancelled',
                "lastTransitionTime": "2025-06-01T10:00:05Z",
            }
        ],
    }
    async with TektonSimulator(emulator.url, auto=False, pacing=fast_pacing) as by_hand:
        await _create(client, "succeed")
        await by_hand.write_pipelinerun_status(SAMPLE_NAMESPACE, SAMPLE_NAME, finished)
    async with TektonSimulator(emulator.url, pacing=fast_pacing) as simulator:
        await simulator.drive(SAMPLE_NAMESPACE, SAMPLE_NAME)
    pipelinerun = await _get(client, f"{PIPELINERUNS}/{SAMPLE_NAME}")
    assert pipelinerun is not None
    assert pipelinerun["status"] == finished
    assert (await client.get(TASKRUNS)).json()["items"] == []


@pytest.mark.parametrize(
    "case",
    [
        ("tasktimeout", "Failed", "TaskRunTimeout"),
        ("imagepull", "Failed", "TaskRunImagePullFailed"),
        ("forbidden", "Failed", "PodAdmissionFailed"),
        ("quota", "PipelineRunTimeout", "TaskRunCancelled"),
        ("invalid", "ParameterMissing", None),
        ("missing", "CouldntGetPipeline", None),
    ],
)
async def test_every_failure_mode_is_accepted_by_the_api(
    client: httpx.AsyncClient,
    emulator: ApiEmulator,
    fast_pacing: Pacing,
    wait_for: WaitFor,
    case: tuple[str, str, str | None],
) -> None:
    mode, pr_reason, tr_reason = case
    taskrun_path = f"{TASKRUNS}/{SAMPLE_NAME}-fail-task"
    async with TektonSimulator(emulator.url, pacing=fast_pacing):
        await _create(client, mode, timeout="2s")
        pipelinerun = await _finished(client, wait_for, f"{PIPELINERUNS}/{SAMPLE_NAME}")
        taskrun = await _finished(client, wait_for, taskrun_path) if tr_reason else None
    assert _condition(pipelinerun)["reason"] == pr_reason
    if tr_reason is None:
        assert (await client.get(TASKRUNS)).json()["items"] == []
    else:
        assert _condition(taskrun)["reason"] == tr_reason


async def test_a_cancelled_run_is_cancelled_not_run_to_success(
    client: httpx.AsyncClient, emulator: ApiEmulator, fast_pacing: Pacing, wait_for: WaitFor
) -> None:
    """`spec.status: Cancelled` (the owner's request): Tekton ends the run `Cancelled` at once
    and cancels its unfinished TaskRun."""
    taskrun_path = f"{TASKRUNS}/{SAMPLE_NAME}-hello"
    async with TektonSimulator(emulator.url, pacing=fast_pacing):
        await _create(client, "succeed", delay="600")
        await _step_running(client, wait_for, taskrun_path)
        patch = {"spec": {"status": "Cancelled"}}
        answer = await client.patch(
            f"{PIPELINERUNS}/{SAMPLE_NAME}",
            json=patch,
            headers={"Content-Type": "application/merge-patch+json"},
        )
        answer.raise_for_status()
        pipelinerun = await _finished(client, wait_for, f"{PIPELINERUNS}/{SAMPLE_NAME}")
        taskrun = await _finished(client, wait_for, taskrun_path)
    assert _condition(pipelinerun)["reason"] == "Cancelled"
    assert _condition(pipelinerun)["message"] == f'PipelineRun "{SAMPLE_NAME}" was cancelled'
    assert pipelinerun["status"]["completionTime"]
    assert _condition(taskrun)["reason"] == "TaskRunCancelled"
    assert _condition(taskrun)["message"].endswith(
        "TaskRun cancelled as the PipelineRun it belongs to has been cancelled."
    )
    assert taskrun["spec"]["status"] == "TaskRunCancelled"
    (step,) = taskrun["status"]["steps"]
    assert step["terminated"]["reason"] == "TaskRunCancelled"


async def test_a_delay_sleep_cannot_read_fails_the_run(
    client: httpx.AsyncClient, emulator: ApiEmulator, fast_pacing: Pacing, wait_for: WaitFor
) -> None:
    async with TektonSimulator(emulator.url, pacing=fast_pacing):
        await _create(client, "succeed", delay="soon")
        pipelinerun = await _finished(client, wait_for, f"{PIPELINERUNS}/{SAMPLE_NAME}")
        taskrun = await _finished(client, wait_for, f"{TASKRUNS}/{SAMPLE_NAME}-hello")
    assert _condition(pipelinerun)["reason"] == "Failed"
    assert _condition(taskrun)["message"] == '"step-echo" exited with code 1: Error'


DEPENDENCY_BINDINGS = [
    {"name": "secret-db-credentials", "secret": {"secretName": "db-credentials"}},
    {"name": "configmap-app-settings", "configMap": {"name": "app-settings"}},
]


async def _put_core(client: httpx.AsyncClient, plural: str, kind: str, name: str) -> None:
    body = {"apiVersion": "v1", "kind": kind, "metadata": {"name": name}}
    answer = await client.post(f"/api/v1/namespaces/{SAMPLE_NAMESPACE}/{plural}", json=body)
    answer.raise_for_status()


async def test_a_missing_bound_secret_fails_the_taskrun_as_the_kubelet_reports_it(
    client: httpx.AsyncClient, emulator: ApiEmulator, fast_pacing: Pacing, wait_for: WaitFor
) -> None:
    """The ConfigMap exists, the Secret does not: the step waits `CreateContainerConfigError`
    with the kubelet's text, the TaskRun fails without a completionTime, the run fails."""
    await _put_core(client, "configmaps", "ConfigMap", "app-settings")
    async with TektonSimulator(emulator.url, pacing=fast_pacing):
        await _create(client, "succeed", workspaces=DEPENDENCY_BINDINGS)
        pipelinerun = await _finished(client, wait_for, f"{PIPELINERUNS}/{SAMPLE_NAME}")
        taskrun = await _finished(client, wait_for, f"{TASKRUNS}/{SAMPLE_NAME}-hello")
    assert _condition(pipelinerun)["reason"] == "Failed"
    assert (_condition(taskrun)["reason"], _condition(taskrun)["message"]) == (
        "CreateContainerConfigError",
        "Failed to create pod due to config error",
    )
    assert "completionTime" not in taskrun["status"]
    (step,) = taskrun["status"]["steps"]
    assert step["waiting"] == {
        "reason": "CreateContainerConfigError",
        "message": 'secret "db-credentials" not found',
    }
    assert taskrun["spec"]["workspaces"] == DEPENDENCY_BINDINGS


async def test_bound_objects_that_exist_let_the_run_succeed(
    client: httpx.AsyncClient, emulator: ApiEmulator, fast_pacing: Pacing, wait_for: WaitFor
) -> None:
    await _put_core(client, "secrets", "Secret", "db-credentials")
    await _put_core(client, "configmaps", "ConfigMap", "app-settings")
    async with TektonSimulator(emulator.url, pacing=fast_pacing):
        await _create(client, "succeed", workspaces=DEPENDENCY_BINDINGS)
        pipelinerun = await _finished(client, wait_for, f"{PIPELINERUNS}/{SAMPLE_NAME}")
    assert _condition(pipelinerun)["reason"] == "Succeeded"
