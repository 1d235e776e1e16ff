"""The reconciler's status write against a scripted API (a local server, see conftest.py):
a rejected write ends in one minimal Failed status and no retries; a conflict re-reads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kubernaut_wfe.constants import Annotation
from kubernaut_wfe.core.record import record_of_run
from kubernaut_wfe.reconcile.cache import ObjectCache
from kubernaut_wfe.reconcile.metrics import ControllerMetrics
from kubernaut_wfe.reconcile.reconciler import Reconciler

from .conftest import KubeFactory, reconciler_on, wfe_document  # noqa: TID252

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
KEY = ("team", "w")


def wfe() -> dict[str, Any]:
    status = {
        "phase": "Running",
        "startTime": "2026-01-01T11:00:00Z",
        "pipelineRunRef": {"name": "wfe-run"},
        "pipelineRunStatus": {"status": "Unknown"},
    }
    recorded = record_of_run(finished_run()).annotation()
    return wfe_document(status, creationTimestamp="2026-01-01T11:00:00Z", annotations=recorded)


def finished_run() -> dict[str, Any]:
    return {
        "metadata": {
            "name": "wfe-run",
            "namespace": "kubernaut-workflows",
            "uid": "run-uid",
            "resourceVersion": "4",
            "labels": {
                "kubernaut.ai/workflow-execution": "w",
                "kubernaut.ai/source-namespace": "team",
                "kubernaut.ai/workflow-id": "x",
                "kubernaut.ai/target-resource": "team__deployment__x",
            },
            "annotations": {
                Annotation.WORKFLOW_EXECUTION.value: "team/w",
                Annotation.WORKFLOW_EXECUTION_UID.value: "wfe-uid",
            },
        },
        "status": {
            "conditions": [
                {"type": "Succeeded", "status": "True", "reason": "Succeeded", "message": "ok"}
            ],
            "completionTime": "2026-01-01T11:30:00Z",
        },
    }


def status_error(code: int, reason: str) -> tuple[int, Any]:
    body = {
        "kind": "Status",
        "status": "Failure",
        "reason": reason,
        "code": code,
        "message": reason,
    }
    return code, body


class Api:
    """Answers status PATCHes from a script; records every request."""

    def __init__(self, answers: list[int]) -> None:
        self.answers = answers
        self.requests: list[tuple[str, str, Any]] = []

    def __call__(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        self.requests.append((method, path, body))
        if method == "POST":
            return 201, body
        if method == "GET":
            return 200, {**wfe(), "metadata": {**wfe()["metadata"], "resourceVersion": "6"}}
        code = self.answers.pop(0)
        if code == 422:
            return status_error(422, "Invalid")
        if code == 409:
            return status_error(409, "Conflict")
        assert isinstance(body, dict)
        written = wfe()
        written["status"] = body["status"]
        written["metadata"]["resourceVersion"] = "7"
        return 200, written


async def reconciler(
    scripted_kube: KubeFactory, api: Api, scheduled: list[tuple[Any, float]]
) -> tuple[Reconciler, ControllerMetrics]:
    kube = await scripted_kube(api)
    cache = ObjectCache()
    cache.store_wfe(wfe())
    cache.store_run(finished_run())
    metrics = ControllerMetrics()
    subject = reconciler_on(
        kube,
        cache,
        now=lambda: NOW,
        schedule=lambda key, delay: scheduled.append((key, delay)),
        metrics=metrics,
    )
    return subject, metrics


def patches(api: Api) -> list[dict[str, Any]]:
    return [body for method, _, body in api.requests if method == "PATCH"]


async def test_a_rejected_status_write_ends_in_one_minimal_failed_status(
    scripted_kube: KubeFactory,
) -> None:
    api = Api([422, 200])
    scheduled: list[tuple[Any, float]] = []
    subject, metrics = await reconciler(scripted_kube, api, scheduled)
    await subject.reconcile(KEY)
    written = patches(api)
    assert written[0]["status"]["phase"] == "Completed"
    assert written[1]["status"]["phase"] == "Failed"
    assert written[1]["status"]["failureDetails"]["reason"] == "Unknown"
    assert "rejected" in written[1]["status"]["failureDetails"]["message"]
    await subject.stop()  # posts the queued Events, as at shutdown
    events = [body for method, path, body in api.requests if path.endswith("/events")]
    assert [event["reason"] for event in events] == ["StatusWriteRejected"]
    assert metrics.rejected_status_writes._value.get() == 1

    api.requests.clear()
    await subject.reconcile(KEY)
    assert api.requests == []  # never a hot loop
    assert subject.is_settled("wfe-uid")


async def test_a_rejected_fallback_gives_up_quietly(scripted_kube: KubeFactory) -> None:
    api = Api([422, 422])
    subject, _ = await reconciler(scripted_kube, api, [])
    await subject.reconcile(KEY)
    assert len(patches(api)) == 2
    api.requests.clear()
    await subject.reconcile(KEY)
    assert api.requests == []


async def test_a_conflict_rereads_and_requeues_without_side_effects(
    scripted_kube: KubeFactory,
) -> None:
    api = Api([409])
    scheduled: list[tuple[Any, float]] = []
    subject, metrics = await reconciler(scripted_kube, api, scheduled)
    await subject.reconcile(KEY)
    methods = [method for method, _, _ in api.requests]
    assert methods == ["PATCH", "GET"]
    assert scheduled == [(KEY, 0)]
    assert metrics.reconciles.labels(outcome="Completed")._value.get() == 0


async def test_the_write_carries_the_resource_version_it_was_computed_from(
    scripted_kube: KubeFactory,
) -> None:
    api = Api([200])
    subject, metrics = await reconciler(scripted_kube, api, [])
    await subject.reconcile(KEY)
    (written,) = patches(api)
    assert written["metadata"] == {"resourceVersion": "5"}
    assert written["status"]["phase"] == "Completed"
    assert metrics.reconciles.labels(outcome="Completed")._value.get() == 1


async def test_the_state_it_wrote_is_quiet_when_nothing_more_is_due(
    scripted_kube: KubeFactory,
) -> None:
    api = Api([200])
    scheduled: list[tuple[Any, float]] = []
    subject, _ = await reconciler(scripted_kube, api, scheduled)
    just_finished = finished_run()
    just_finished["status"]["completionTime"] = "2026-01-01T11:59:00Z"
    just_finished["metadata"]["resourceVersion"] = "9"
    subject._cache.store_run(just_finished)
    assert not subject.is_quiet("wfe-uid", "5")
    await subject.reconcile(KEY)
    assert subject.is_quiet("wfe-uid", "7")  # Completed: only the lock release, in cooldown
    assert scheduled
    assert all(delay > 0 for _, delay in scheduled)


async def test_a_finished_cooldown_is_not_quiet(scripted_kube: KubeFactory) -> None:
    api = Api([200])
    scheduled: list[tuple[Any, float]] = []
    subject, _ = await reconciler(scripted_kube, api, scheduled)
    await subject.reconcile(KEY)  # completed half an hour ago: the lock release is due now
    assert not subject.is_quiet("wfe-uid", "7")
    assert (KEY, 0) in scheduled
    subject.forget("wfe-uid")
    assert not subject.is_quiet("wfe-uid", "7")


class AdoptingApi(Api):
    """A Pending WFE whose run already exists and has finished (a restart after the run ended)."""

    def __call__(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        if method == "GET" and "/pipelineruns/" in path:
            self.requests.append((method, path, body))
            return 200, finished_run()
        return super().__call__(method, path, body)


async def test_a_written_state_that_needs_more_is_reconciled_again_at_once(
    scripted_kube: KubeFactory,
) -> None:
    api = AdoptingApi([200])
    scheduled: list[tuple[Any, float]] = []
    subject, _ = await reconciler(scripted_kube, api, scheduled)
    pending = wfe()
    del pending["status"]
    pending["metadata"]["resourceVersion"] = "6"
    subject._cache.store_wfe(pending)
    await subject.reconcile(KEY)
    (written,) = patches(api)
    assert written["status"]["phase"] == "Running"
    assert (KEY, 0) in scheduled  # the adopted run has finished: Completed comes next
    assert not subject.is_quiet("wfe-uid", "7")
