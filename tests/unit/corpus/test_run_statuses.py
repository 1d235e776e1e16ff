"""The run-status corpus (`tests/corpus/run_statuses.yaml`) through the decision the controller
really makes (`core.decisions.decide`): a WFE started by the controller's own decisions, then
its run (PipelineRun, Job, or the Job's pod) carrying the case's status. Each case gets its
outcome with a bounded status, and a case that `waits` is then ended by a well-formed final
status as that says."""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from kubernaut_wfe.constants import FINALIZER, Phase
from kubernaut_wfe.core.actions import (
    CreateRun,
    Decision,
    ReadJobPods,
    ReadTaskRuns,
    RecordExecution,
    Requeue,
)
from kubernaut_wfe.core.config import load_config
from kubernaut_wfe.core.decisions import decide
from kubernaut_wfe.core.failure import FAILURE_MESSAGE_MAX
from kubernaut_wfe.core.observation import Created, Observation
from kubernaut_wfe_tools.testing.catalog_fixtures import catalog_variant
from kubernaut_wfe_tools.testing.corpus import BASE_WFE
from kubernaut_wfe_tools.testing.run_status_corpus import (
    RunStatusCase,
    RunVerdict,
    StatusWriter,
    run_status_cases,
)

CASES = run_status_cases()
CONFIG = load_config(None)
NOW = datetime(2026, 1, 1, 0, 5, tzinfo=UTC)
CREATED = "2026-01-01T00:00:00Z"
STATUS_BOUND = 256 * 1024
"""Bytes of a WFE status, whatever its run says (the API server takes ~3 MiB per request)."""
BACKOFF = "Job has reached the specified backoff limit"


def _stored(document: dict[str, Any], uid: str) -> dict[str, Any]:
    """A document as the API server returns it once created."""
    stored = copy.deepcopy(document)
    meta = stored.setdefault("metadata", {})
    meta.update(uid=uid, creationTimestamp=CREATED, resourceVersion="1", generation=1)
    return stored


def _wfe(case: RunStatusCase) -> dict[str, Any]:
    if case.writer == StatusWriter.PIPELINERUN:
        document: dict[str, Any] = yaml.safe_load(BASE_WFE.read_text(encoding="utf-8"))
        document["metadata"] = {"name": case.name, "namespace": "default"}
        document["spec"]["targetResource"] = f"default/deployment/{case.name}"
    else:
        document = catalog_variant({"workflowRef.executionEngine": "job"}, name=case.name)
    wfe = _stored(document, f"{case.name}-uid")
    wfe["metadata"]["finalizers"] = [FINALIZER]
    return wfe


def _settle(wfe: dict[str, Any], obs: Observation, pods: list[dict[str, Any]]) -> Decision:
    """Decide until the decision asks for nothing the test answers itself (the execution
    record written, the TaskRuns listed: none exist, the Job's pods listed: `pods`)."""
    for _ in range(6):
        decision = decide(wfe, obs, CONFIG, NOW)
        action = decision.actions[0] if decision.actions else None
        if isinstance(action, RecordExecution):
            wfe["metadata"]["annotations"] = {
                **(wfe["metadata"].get("annotations") or {}),
                **action.annotations,
            }
        elif isinstance(action, ReadTaskRuns):
            obs = dataclasses.replace(obs, taskruns=())
        elif isinstance(action, ReadJobPods):
            obs = dataclasses.replace(obs, pods=pods, run_events=())
        else:
            return decision
    raise AssertionError(f"no decision settles: {decision}")


def _written(wfe: dict[str, Any], decision: Decision) -> None:
    if decision.status is not None:
        wfe["status"] = decision.status.to_api()


def _running(case: RunStatusCase) -> tuple[dict[str, Any], dict[str, Any]]:
    """The WFE once Running, and its run as created."""
    wfe = _wfe(case)
    (create,) = decide(wfe, Observation(run=None, service_account=False), CONFIG, NOW).actions
    assert isinstance(create, CreateRun)
    run = _stored(dict(create.body), f"{case.name}-run-uid")
    decision = _settle(wfe, Observation(create=Created(run)), [])
    _written(wfe, decision)
    assert wfe["status"]["phase"] == Phase.RUNNING
    return wfe, run


def _pod(job: dict[str, Any], status: Any) -> dict[str, Any]:
    """The Job's pod as the Job controller creates it, with `status` (the kubelet's)."""
    meta = job["metadata"]
    template = job["spec"]["template"]
    return {
        "metadata": {
            "name": f"{meta['name']}-x7k2p",
            "generateName": f"{meta['name']}-",
            "namespace": meta["namespace"],
            "uid": "pod-uid",
            "creationTimestamp": CREATED,
            "labels": {**template["metadata"].get("labels", {})},
            "ownerReferences": [
                {"apiVersion": "batch/v1", "kind": "Job", "name": meta["name"],
                 "uid": meta["uid"], "controller": True}
            ],
        },
        "spec": template["spec"],
        "status": status,
    }  # fmt: skip


def _condition(kind: str, reason: str, message: str) -> dict[str, str]:
    return {"type": kind, "status": "True", "reason": reason, "message": message}


def _job_of_pod(job: dict[str, Any], pod: dict[str, Any]) -> dict[str, Any]:
    """The Job as the Job controller makes it of its one pod: Failed when the pod failed."""
    status = pod["status"] if isinstance(pod["status"], dict) else {}
    if status.get("phase") != "Failed":
        return {**job, "status": {"startTime": CREATED, "active": 1}}
    conditions = [
        _condition(kind, "BackoffLimitExceeded", BACKOFF) for kind in ("FailureTarget", "Failed")
    ]
    return {**job, "status": {"startTime": CREATED, "failed": 1, "conditions": conditions}}


def _observed(
    case: RunStatusCase, run: dict[str, Any], status: Any
) -> tuple[Observation, list[dict[str, Any]]]:
    """What the watches deliver once the case's status is written: the run, and a Job's pods."""
    if case.writer == StatusWriter.PIPELINERUN:
        return Observation(run={**run, "status": status}), []
    if case.writer == StatusWriter.JOB:
        pending = _pod(run, {"phase": "Pending"})
        job = {**run, "status": case.written({"status": {"startTime": CREATED}})}
        return Observation(run=job), [pending]
    pod = _pod(run, status)
    return Observation(run=_job_of_pod(run, pod)), [pod]


def _final(case: RunStatusCase, run: dict[str, Any]) -> tuple[Observation, list[dict[str, Any]]]:
    """A well-formed successful end, as its writer writes it."""
    if case.writer == StatusWriter.PIPELINERUN:
        succeeded = _condition(
            "Succeeded", "Succeeded", "Tasks Completed: 1 (Failed: 0, Cancelled 0), Skipped: 0"
        )
        return Observation(run={**run, "status": {"conditions": [succeeded]}}), []
    reached = "Reached expected number of succeeded pods"
    terminated = {"exitCode": 0, "reason": "Completed", "startedAt": CREATED, "finishedAt": CREATED}
    pod = _pod(
        run,
        {
            "phase": "Succeeded",
            "containerStatuses": [
                {
                    "name": "workflow",
                    "ready": False,
                    "restartCount": 0,
                    "state": {"terminated": terminated},
                }
            ],
        },
    )
    conditions = [
        _condition(kind, "CompletionsReached", reached)
        for kind in ("SuccessCriteriaMet", "Complete")
    ]
    job = {**run, "status": {"startTime": CREATED, "completionTime": "2026-01-01T00:01:00Z",
                              "succeeded": 1, "conditions": conditions}}  # fmt: skip
    return Observation(run=job), [pod]


def _assert_bounded(decision: Decision) -> None:
    """A status of bounded size, whose times are believable whatever the run reported (they
    set the cooldown and the audit events' timestamps)."""
    status = decision.status
    assert status is not None
    assert len(json.dumps(status.to_api())) < STATUS_BOUND
    details = status.failure_details
    if details is not None:
        assert len(details.message) <= FAILURE_MESSAGE_MAX
        assert len(details.natural_language_summary) < STATUS_BOUND // 8
    assert status.start_time is not None
    earliest = status.start_time - timedelta(seconds=1)
    for moment in (status.completion_time, details.failed_at if details else None):
        assert moment is None or earliest <= moment <= NOW + timedelta(minutes=5), moment


def _assert_waits(decision: Decision) -> None:
    """Still Running, waking again only when the watches bring news or after a real delay."""
    assert decision.status is None or decision.status.phase == Phase.RUNNING
    if decision.status is not None:
        _assert_bounded(decision)
    for action in decision.actions:
        assert isinstance(action, Requeue), action
        assert action.after.total_seconds() >= 1, action


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_run_status_gets_its_outcome(case: RunStatusCase) -> None:
    wfe, run = _running(case)
    obs, pods = _observed(case, run, case.status)
    decision = _settle(wfe, obs, pods)
    if case.verdict == RunVerdict.WAITS:
        _assert_waits(decision)
        _written(wfe, decision)
        again = _settle(wfe, obs, pods)  # the same document once more: nothing new to write
        assert again.status is None
        _assert_waits(again)
        obs, pods = _final(case, run)
        decision = _settle(wfe, obs, pods)
    _assert_bounded(decision)
    assert decision.status is not None
    if case.verdict == RunVerdict.FAILS:
        assert decision.status.phase == Phase.FAILED
        assert decision.status.failure_details is not None
        assert decision.status.failure_details.reason == case.reason
    else:
        assert decision.status.phase == Phase.COMPLETED


def test_the_corpus_covers_every_writer_and_every_outcome() -> None:
    assert len(CASES) >= 25
    assert {case.writer for case in CASES} == set(StatusWriter)
    assert {case.verdict for case in CASES} == set(RunVerdict)
    assert any(case.refused_by_api_server for case in CASES)
