"""The Job controller's syncs, step by step, for the Jobs the controller builds: the writes of
every outcome as Kubernetes v1.36's Job controller makes them (`job-engine.md` §9), each status
one the API server admits after the one before, the pod failure policy and the back-off."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kubernaut_wfe_tools.node_simulator.documents import job_pods
from kubernaut_wfe_tools.node_simulator.documents.job_pods import (
    MAX_POD_FAILURE_BACKOFF,
    Backoff,
    PolicyVerdict,
    policy_verdict,
)
from kubernaut_wfe_tools.node_simulator.documents.job_status import JobCounts
from kubernaut_wfe_tools.node_simulator.job_sync import JobSync, sync_job
from kubernaut_wfe_tools.node_simulator.samples import workflow_job

T0 = datetime(2026, 8, 1, 10, 0, 0, tzinfo=UTC)
UID = "9eea2e11-0469-4880-9b53-3d36af9eff0c"
TRACKING = "batch.kubernetes.io/job-tracking"
SUCCESS = ("SuccessCriteriaMet", "Complete", "CompletionsReached")
REACHED = "Reached expected number of succeeded pods"
BACKOFF_LIMIT = "Job has reached the specified backoff limit"
DEADLINE = "Job was active longer than specified deadline"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def stamp(seconds: float) -> str:
    return at(seconds).strftime("%Y-%m-%dT%H:%M:%SZ")


def job(status: Mapping[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    """The sample Job as the API server stores it (defaulted), with `status`."""
    document = workflow_job(active_deadline_seconds=spec.pop("active_deadline_seconds", 1800))
    document["metadata"].update(uid=UID, namespace="kubernaut-workflows")
    document["spec"].update({"completions": 1, "parallelism": 1, "suspend": False, **spec})
    document["status"] = dict(status or {})
    return document


def pod(
    uid: str,
    phase: str = "Running",
    *,
    ready: bool = False,
    tracked: bool = True,
    deleting: bool = False,
    exit_code: int | None = None,
    disrupted: bool = False,
    ended: float = 2,
) -> dict[str, Any]:
    conditions = [{"type": "Ready", "status": "True" if ready else "False"}]
    if disrupted:
        conditions.insert(0, {"type": "DisruptionTarget", "status": "True"})
    state: dict[str, Any] = {"running": {"startedAt": stamp(0)}}
    if exit_code is not None:
        state = {"terminated": {"exitCode": exit_code, "finishedAt": stamp(ended)}}
    metadata: dict[str, Any] = {
        "name": f"wfe-f3457dcc8fbcb6d9-{uid}",
        "namespace": "kubernaut-workflows",
        "uid": uid,
        "creationTimestamp": stamp(0),
        "finalizers": [TRACKING] if tracked else [],
    }
    if deleting:
        metadata.update(deletionTimestamp=stamp(ended + 30), deletionGracePeriodSeconds=30)
    return {
        "metadata": metadata,
        "status": {
            "phase": phase,
            "conditions": conditions,
            "containerStatuses": [{"name": "workflow", "state": state}],
        },
    }


def conditions_of(status: Mapping[str, Any] | None) -> list[tuple[str, str, str, str]]:
    assert status is not None
    return [
        (c["type"], c["status"], c["reason"], c["message"]) for c in status.get("conditions", [])
    ]


def events_of(sync: JobSync) -> list[tuple[str, str, str]]:
    return [(e.type.value, e.reason, e.message) for e in sync.events]


STARTED = {
    "startTime": stamp(0),
    "active": 1,
    "terminating": 0,
    "uncountedTerminatedPods": {},
    "ready": 0,
}


def test_a_new_job_gets_its_pod_and_its_start_time() -> None:
    sync = sync_job(job(), [], T0, Backoff())
    assert sync.create == 1
    assert sync.first_status == STARTED
    assert (sync.final_status, sync.release, sync.delete, sync.events) == (None, (), (), ())
    assert sync.sync_again_in == timedelta(seconds=1800)


def test_a_ready_pod_is_counted_ready_and_nothing_else_changes() -> None:
    running = pod("a", ready=True)
    assert sync_job(job(STARTED), [running], at(1), Backoff()).first_status == {
        **STARTED,
        "ready": 1,
    }
    quiet = sync_job(job({**STARTED, "ready": 1}), [running], at(2), Backoff())
    assert (quiet.first_status, quiet.final_status, quiet.create) == (None, None, 0)


def test_a_succeeded_pod_completes_the_job_in_two_writes() -> None:
    done = pod("a", "Succeeded", exit_code=0)
    sync = sync_job(job(STARTED), [done], at(2), Backoff())
    interim = {"type": "SuccessCriteriaMet", "status": "True", "reason": SUCCESS[2]}
    assert conditions_of(sync.first_status) == [(*interim.values(), REACHED)]
    assert sync.first_status is not None
    assert sync.first_status["uncountedTerminatedPods"] == {"succeeded": ["a"]}
    assert "active" not in sync.first_status
    assert [job_pods.metadata(p)["uid"] for p in sync.release] == ["a"]
    final = sync.final_status
    assert final is not None
    assert conditions_of(final) == [
        ("SuccessCriteriaMet", "True", "CompletionsReached", REACHED),
        ("Complete", "True", "CompletionsReached", REACHED),
    ]
    assert (final["succeeded"], final["completionTime"], final["uncountedTerminatedPods"]) == (
        1,
        stamp(2),
        {},
    )
    assert events_of(sync) == [("Normal", "Completed", "Job completed")]


@pytest.mark.parametrize("exit_code", [1, 137], ids=["exit", "oom"])
def test_a_failed_pod_fails_the_job_at_once(exit_code: int) -> None:
    failed = pod("a", "Failed", exit_code=exit_code)
    sync = sync_job(job(STARTED), [failed], at(2), Backoff())
    assert conditions_of(sync.first_status) == [
        ("FailureTarget", "True", "BackoffLimitExceeded", BACKOFF_LIMIT)
    ]
    assert sync.first_status is not None
    assert sync.first_status["uncountedTerminatedPods"] == {"failed": ["a"]}
    final = sync.final_status
    assert final is not None
    assert [kind for kind, *_ in conditions_of(final)] == ["FailureTarget", "Failed"]
    assert (final["failed"], "completionTime" in final) == (1, False)
    assert events_of(sync) == [("Warning", "BackoffLimitExceeded", BACKOFF_LIMIT)]
    assert sync.create == 0


def test_a_disrupted_pod_is_ignored_and_replaced_after_the_back_off() -> None:
    evicted = pod("a", "Failed", exit_code=137, disrupted=True, ended=2)
    first = sync_job(job(STARTED), [evicted], at(3), Backoff())
    waiting = {key: value for key, value in STARTED.items() if key != "active"}
    assert first.first_status == waiting
    assert [job_pods.metadata(p)["uid"] for p in first.release] == ["a"]
    assert (first.final_status, first.create, first.events) == (None, 0, ())
    assert first.sync_again_in == timedelta(seconds=9)
    released = pod("a", "Failed", exit_code=137, disrupted=True, ended=2, tracked=False)
    early = sync_job(job(waiting), [released], at(8), first.backoff)
    assert (early.create, early.sync_again_in) == (0, timedelta(seconds=4))
    later = sync_job(job(waiting), [released], at(12), first.backoff)
    assert later.create == 1
    assert later.first_status == STARTED
    replacement = pod("b", "Succeeded", exit_code=0, ended=20)
    done = sync_job(job(STARTED), [released, replacement], at(20), later.backoff)
    assert done.final_status is not None
    assert (done.final_status["succeeded"], done.final_status.get("failed", 0)) == (1, 0)
    assert done.backoff == Backoff()


def test_the_deadline_deletes_the_running_pod_counts_it_failed_then_fails_the_job() -> None:
    running = pod("a", ready=True)
    ready = {**STARTED, "ready": 1}
    sync = sync_job(job(ready, active_deadline_seconds=3), [running], at(3), Backoff())
    assert [job_pods.metadata(p)["uid"] for p in sync.delete] == ["a"]
    assert not sync.release_before_delete
    assert conditions_of(sync.first_status) == [
        ("FailureTarget", "True", "DeadlineExceeded", DEADLINE)
    ]
    assert sync.first_status is not None
    assert {key: v for key, v in sync.first_status.items() if key != "conditions"} == {
        "startTime": stamp(0),
        "terminating": 1,
        "uncountedTerminatedPods": {"failed": ["a"]},
        "ready": 0,
    }
    assert sync.final_status is not None
    assert (sync.final_status["failed"], sync.final_status["terminating"]) == (1, 1)
    assert sync.events == ()
    gone = sync_job(job(sync.final_status, active_deadline_seconds=3), [], at(4), sync.backoff)
    assert gone.first_status is not None
    assert gone.first_status["terminating"] == 0
    assert [kind for kind, *_ in conditions_of(gone.final_status)] == ["FailureTarget", "Failed"]
    assert events_of(gone) == [("Warning", "DeadlineExceeded", DEADLINE)]


def test_suspending_deletes_the_pod_uncounted_and_forgets_the_start() -> None:
    running = pod("a", ready=True)
    sync = sync_job(job({**STARTED, "ready": 1}, suspend=True), [running], at(5), Backoff())
    assert [job_pods.metadata(p)["uid"] for p in sync.delete] == ["a"]
    assert sync.release_before_delete
    assert sync.release == ()
    assert sync.first_status == {
        "conditions": [
            {
                "type": "Suspended",
                "status": "True",
                "lastProbeTime": stamp(5),
                "lastTransitionTime": stamp(5),
                "reason": "JobSuspended",
                "message": "Job suspended",
            }
        ],
        "terminating": 1,
        "uncountedTerminatedPods": {},
        "ready": 0,
    }
    assert events_of(sync) == [("Normal", "Suspended", "Job suspended")]
    assert sync.sync_again_in is None
    resumed = sync_job(job(sync.first_status | {"terminating": 0}), [], at(9), Backoff())
    assert conditions_of(resumed.first_status) == [
        ("Suspended", "False", "JobResumed", "Job resumed")
    ]
    assert resumed.first_status is not None
    assert resumed.first_status["startTime"] == stamp(9)
    assert resumed.create == 1
    assert events_of(resumed) == [("Normal", "Resumed", "Job resumed")]


def test_a_finished_pod_already_counted_is_not_counted_twice() -> None:
    interim = sync_job(job(STARTED), [pod("a", "Succeeded", exit_code=0)], at(2), Backoff())
    # The finalizer came off but the final write was lost: the next sync counts it once.
    assert interim.first_status is not None
    released = pod("a", "Succeeded", exit_code=0, tracked=False)
    again = sync_job(job(interim.first_status), [released], at(3), Backoff())
    assert again.first_status is not None
    assert (again.first_status["succeeded"], again.first_status["uncountedTerminatedPods"]) == (
        1,
        {},
    )
    assert again.final_status is not None
    assert again.final_status["succeeded"] == 1


# --- what the API server admits -------------------------------------------------------------


def refusals(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """The API server's rules for a Job status update (`job-engine.md` §9)."""
    kinds = {c["type"] for c in new.get("conditions", []) if c["status"] == "True"}
    before = {c["type"] for c in old.get("conditions", []) if c["status"] == "True"}
    found = []
    finished = kinds & {"Complete", "Failed"}
    if "Complete" in kinds and "SuccessCriteriaMet" not in kinds:
        found.append("Complete without SuccessCriteriaMet")
    if "Failed" in kinds and "FailureTarget" not in kinds:
        found.append("Failed without FailureTarget")
    if "Complete" in kinds and kinds & {"Failed", "FailureTarget"}:
        found.append("Complete with a failure")
    if "SuccessCriteriaMet" in kinds and kinds & {"Failed", "FailureTarget"}:
        found.append("SuccessCriteriaMet with a failure")
    uncounted = new.get("uncountedTerminatedPods") or {}
    if finished and (new.get("active", 0) or new.get("terminating", 0) or any(uncounted.values())):
        found.append("finished with pods left")
    if finished and not new.get("startTime"):
        found.append("finished without startTime")
    if ("completionTime" in new) != ("Complete" in kinds):
        found.append("completionTime without Complete")
    if new.get("ready", 0) > new.get("active", 0):
        found.append("ready > active")
    for counter in ("succeeded", "failed"):
        if new.get(counter, 0) < old.get(counter, 0):
            found.append(f"{counter} lowered")
    if before & {"Complete", "Failed"} - kinds:
        found.append("terminal condition removed")
    return found


RUNS: dict[str, list[tuple[float, list[dict[str, Any]]]]] = {
    "success": [(0, []), (1, [pod("a", ready=True)]), (2, [pod("a", "Succeeded", exit_code=0)])],
    "exit": [(0, []), (1, [pod("a", ready=True)]), (2, [pod("a", "Failed", exit_code=1)])],
    "deadline": [(0, []), (1, [pod("a", ready=True)]), (3, [pod("a", ready=True)]), (4, [])],
}


@pytest.mark.parametrize("name", list(RUNS))
def test_every_status_written_is_one_the_api_server_admits(name: str) -> None:
    current: dict[str, Any] = {}
    backoff = Backoff()
    for seconds, pods in RUNS[name]:
        sync = sync_job(job(current, active_deadline_seconds=3), pods, at(seconds), backoff)
        for status in (sync.first_status, sync.final_status):
            if status is not None:
                assert refusals(current, status) == []
                current = status
        backoff = sync.backoff
    assert {c["type"] for c in current["conditions"]} & {"Complete", "Failed"}


# --- the pieces -----------------------------------------------------------------------------


def test_the_back_off_doubles_per_failure_and_a_success_clears_it() -> None:
    failed = [pod("a", "Failed", exit_code=1, ended=0)]
    once = Backoff().after([], failed)
    assert once.remaining(at(3)) == timedelta(seconds=7)
    assert once.remaining(at(11)) == timedelta(0)
    thrice = once.after([], [pod("b", "Failed", exit_code=1, ended=0)] * 2)
    assert thrice.remaining(at(0)) == timedelta(seconds=40)
    many = Backoff(failures=20, last_failure=T0)
    assert many.remaining(T0) == MAX_POD_FAILURE_BACKOFF
    assert once.after([pod("c", "Succeeded", exit_code=0, ended=5)], []) == Backoff()


def test_the_pod_failure_policy_decides_what_a_failure_counts() -> None:
    spec = job()["spec"]
    evicted = pod("a", "Failed", exit_code=137, disrupted=True)
    assert policy_verdict(spec, evicted) == PolicyVerdict(counts=False)
    assert policy_verdict(spec, pod("b", "Failed", exit_code=137)) == PolicyVerdict(counts=True)
    fail_on_42 = {
        "podFailurePolicy": {
            "rules": [
                {
                    "action": "FailJob",
                    "onExitCodes": {"containerName": "workflow", "operator": "In", "values": [42]},
                }
            ]
        }
    }
    verdict = policy_verdict(fail_on_42, pod("c", "Failed", exit_code=42))
    assert verdict.fails_job == (
        "Container workflow for pod kubernaut-workflows/wfe-f3457dcc8fbcb6d9-c failed with exit "
        "code 42 matching FailJob rule at index 0"
    )
    sync = sync_job(
        job(STARTED, **fail_on_42), [pod("c", "Failed", exit_code=42)], at(2), Backoff()
    )
    assert conditions_of(sync.first_status)[0][:3] == ("FailureTarget", "True", "PodFailurePolicy")


def test_the_pod_is_made_from_the_template_held_and_controlled_by_its_job() -> None:
    made = job_pods.pod_from_template(job())
    meta = made["metadata"]
    assert meta["generateName"] == "wfe-f3457dcc8fbcb6d9-"
    assert meta["finalizers"] == [TRACKING]
    assert meta["ownerReferences"] == [
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "name": "wfe-f3457dcc8fbcb6d9",
            "uid": UID,
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert made["spec"]["containers"][0]["name"] == "workflow"
    assert job_pods.owned_by([{"metadata": meta}], UID) == [{"metadata": meta}]
    assert job_pods.release_patch({"metadata": {"finalizers": ["x/y", TRACKING]}}) == [
        {"op": "test", "path": "/metadata/finalizers/1", "value": TRACKING},
        {"op": "remove", "path": "/metadata/finalizers/1"},
    ]


def test_the_status_leaves_out_what_go_leaves_out() -> None:
    counts = JobCounts.read({})
    assert counts.document() == {"terminating": 0, "uncountedTerminatedPods": {}, "ready": 0}
