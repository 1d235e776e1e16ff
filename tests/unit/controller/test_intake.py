"""Watch events become work only when they bring something new (reconcile/intake.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from kubernaut_wfe.constants import Annotation, TektonLabel
from kubernaut_wfe.reconcile.cache import ObjectCache, WfeKey
from kubernaut_wfe.reconcile.intake import WatchIntake
from kubernaut_wfe.reconcile.workqueue import WorkQueue

KEY: WfeKey = ("team", "w")


class Memory:
    """The reconciler's answers, as a test sets them."""

    def __init__(self) -> None:
        self.quiet: dict[str, str] = {}
        self.settled: set[str] = set()
        self.forgotten: list[str] = []

    def is_quiet(self, uid: str, resource_version: str | None) -> bool:
        return self.quiet.get(uid) == resource_version

    def is_settled(self, uid: str) -> bool:
        return uid in self.settled

    def forget(self, uid: str) -> None:
        self.forgotten.append(uid)


def wfe(rv: str, *, namespace: str = "team", uid: str = "u1") -> dict[str, Any]:
    return {"metadata": {"name": "w", "namespace": namespace, "uid": uid, "resourceVersion": rv}}


def run(rv: str, uid: str = "r1") -> dict[str, Any]:
    return {
        "metadata": {
            "name": "wfe-run",
            "namespace": "kubernaut-workflows",
            "uid": uid,
            "resourceVersion": rv,
            "annotations": {Annotation.WORKFLOW_EXECUTION.value: "team/w"},
        }
    }


def event(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, "object": obj}


async def noop(_: WfeKey) -> None:
    return None


class RecordingQueue(WorkQueue[WfeKey]):
    """The real queue, never started here, remembering the keys it was given."""

    def __init__(self) -> None:
        super().__init__(noop)
        self.queued: set[WfeKey] = set()

    def add(self, key: WfeKey) -> None:
        self.queued.add(key)
        super().add(key)

    @property
    def depth(self) -> int:
        """Keys waiting to be processed: no worker takes one here."""
        return len(self.queued)


def subject(namespaces: tuple[str, ...] = ()) -> tuple[WatchIntake, RecordingQueue, Memory]:
    queue = RecordingQueue()
    intake = WatchIntake(ObjectCache(), queue, namespaces)
    memory = Memory()
    intake.reconciler = memory
    return intake, queue, memory


def test_a_new_state_is_queued_once_however_often_it_comes() -> None:
    intake, queue, _ = subject()
    intake.on_wfe_event(event("ADDED", wfe("5")))
    intake.on_wfe_event(event("MODIFIED", wfe("6")))
    assert queue.depth == 1


def test_an_echo_of_a_decided_state_queues_nothing() -> None:
    intake, queue, memory = subject()
    intake._cache.store_wfe(wfe("7"), owned=True)  # our own write, stored from its answer
    memory.quiet["u1"] = "7"  # ...and decided once more: nothing left to do
    intake.on_wfe_event(event("MODIFIED", wfe("7")))
    intake.on_wfe_event(event("MODIFIED", wfe("6")))  # an older state arriving late
    assert queue.depth == 0


def test_an_echo_of_an_undecided_state_is_queued() -> None:
    intake, queue, _ = subject()
    intake._cache.store_wfe(wfe("7"), owned=True)
    intake.on_wfe_event(event("MODIFIED", wfe("7")))
    assert queue.depth == 1


async def test_an_echo_while_its_reconcile_runs_queues_nothing() -> None:
    gate, started = asyncio.Event(), asyncio.Event()
    calls: list[WfeKey] = []

    async def held(key: WfeKey) -> None:
        calls.append(key)
        started.set()
        await gate.wait()

    queue: WorkQueue[WfeKey] = WorkQueue(held, workers=1)
    intake = WatchIntake(ObjectCache(), queue)
    intake.reconciler = Memory()
    intake.on_wfe_event(event("ADDED", wfe("5")))
    queue.start()
    await started.wait()
    intake._cache.store_wfe(wfe("6"), owned=True)  # the running reconcile wrote this
    intake.on_wfe_event(event("MODIFIED", wfe("6")))
    gate.set()
    await asyncio.sleep(0.01)
    assert calls == [KEY]  # no second reconcile for the echo
    gate.clear()
    intake.on_wfe_event(event("MODIFIED", wfe("8")))  # someone else's change: news
    await asyncio.sleep(0.01)
    assert calls == [KEY, KEY]
    gate.set()
    await queue.stop()


def known_and_quiet() -> tuple[WatchIntake, RecordingQueue, Memory]:
    """A WFE the intake has seen and the reconciler has decided: nothing queued."""
    intake, queue, memory = subject()
    intake._cache.store_wfe(wfe("5"), owned=True)
    memory.quiet["u1"] = "5"
    intake.on_wfe_event(event("MODIFIED", wfe("5")))
    intake._cache.store_run(run("9"), owned=True)  # as the POST answered
    assert queue.depth == 0
    return intake, queue, memory


TASKRUN = {
    "metadata": {
        "name": "wfe-run-t",
        "uid": "t1",
        "resourceVersion": "10",
        "labels": {TektonLabel.PIPELINE_RUN.value: "wfe-run"},
    }
}


def test_a_run_is_queued_only_when_it_changed() -> None:
    intake, queue, _ = known_and_quiet()
    intake.on_run_event(event("ADDED", run("9")))  # the watch echoing our POST
    intake.on_run_event(event("MODIFIED", run("8")))  # older
    assert queue.depth == 0
    intake.on_run_event(event("MODIFIED", run("12")))  # Tekton wrote its status
    assert queue.depth == 1


def test_a_run_deletion_is_queued() -> None:
    intake, queue, _ = known_and_quiet()
    intake.on_run_event(event("DELETED", run("13")))
    assert queue.depth == 1
    assert intake._cache.run("wfe-run") is None


def test_a_taskrun_is_queued_only_when_it_changed() -> None:
    intake, queue, _ = known_and_quiet()
    intake._cache.store_taskrun(TASKRUN)  # already seen
    intake.on_taskrun_event(event("MODIFIED", TASKRUN))
    assert queue.depth == 0
    newer = {"metadata": {**TASKRUN["metadata"], "resourceVersion": "14"}}
    intake.on_taskrun_event(event("MODIFIED", newer))
    assert queue.depth == 1


def test_an_audit_outcome_queues_its_wfe() -> None:
    intake, queue, _ = known_and_quiet()
    intake.on_audit_outcome("u1")
    intake.on_audit_outcome("unknown-uid")
    assert queue.depth == 1


def test_deletion_drops_and_forgets() -> None:
    intake, queue, memory = known_and_quiet()
    intake.on_wfe_event(event("DELETED", wfe("6")))
    assert not intake._cache.has_wfe(KEY)
    assert memory.forgotten == ["u1"]
    intake.on_audit_outcome("u1")  # a late acknowledgement of a deleted WFE
    assert queue.depth == 0


def test_out_of_scope_namespaces_are_ignored() -> None:
    intake, queue, _ = subject(namespaces=("team",))
    intake.on_wfe_event(event("ADDED", wfe("5", namespace="other")))
    assert queue.depth == 0
    assert not intake._cache.has_wfe(("other", "w"))


def test_the_recheck_queues_only_unsettled_wfes() -> None:
    intake, queue, memory = subject()
    intake._cache.store_wfe(wfe("5"), owned=True)
    intake._cache.store_wfe(
        {**wfe("3", uid="u2"), "metadata": {**wfe("3")["metadata"], "name": "v", "uid": "u2"}}
    )
    memory.settled.add("u2")
    intake.recheck_unsettled()
    assert queue.depth == 1
