"""Reads the reconciler avoids: the lock release trusts the cached run (the DELETE's
preconditions catch a stale one) and, once the DELETE answered, never reads the run again."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kubernaut_wfe.constants import Annotation
from kubernaut_wfe.reconcile.cache import ObjectCache
from kubernaut_wfe.reconcile.reconciler import Reconciler

from .conftest import KubeFactory, reconciler_on, wfe_document  # noqa: TID252

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
KEY = ("team", "w")
RUN_NAME = "wfe-run"


def completed_wfe(**meta: Any) -> dict[str, Any]:
    status = {
        "phase": "Completed",
        "startTime": "2026-01-01T10:00:00Z",
        "completionTime": "2026-01-01T10:30:00Z",
        "pipelineRunRef": {"name": RUN_NAME},
    }
    return wfe_document(status, **meta)


def run(holder_uid: str = "wfe-uid") -> dict[str, Any]:
    return {
        "metadata": {
            "name": RUN_NAME,
            "namespace": "kubernaut-workflows",
            "uid": "run-uid",
            "resourceVersion": "4",
            "annotations": {
                Annotation.WORKFLOW_EXECUTION.value: "team/w",
                Annotation.WORKFLOW_EXECUTION_UID.value: holder_uid,
            },
        },
        "status": {"conditions": [{"type": "Succeeded", "status": "True"}]},
    }


class Api:
    """GET answers `run_on_server` (404 when None); DELETE answers `delete_status`."""

    def __init__(self, run_on_server: dict[str, Any] | None, delete_status: int = 200) -> None:
        self.run_on_server = run_on_server
        self.delete_status = delete_status
        self.requests: list[tuple[str, str]] = []

    def __call__(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        self.requests.append((method, path))
        if path.endswith("/events"):
            return 201, body
        if method == "GET" and self.run_on_server is not None:
            return 200, self.run_on_server
        if method == "DELETE" and self.delete_status == 200:
            return 200, self.run_on_server or run()
        if method == "PATCH":
            return 200, body
        code = 404 if method == "GET" else self.delete_status
        reason = {404: "NotFound", 409: "Conflict"}.get(code, "Failure")
        return code, {"kind": "Status", "status": "Failure", "reason": reason, "code": code}

    def run_requests(self) -> list[str]:
        return [method for method, path in self.requests if "/pipelineruns" in path]


async def reconciler(scripted_kube: KubeFactory, api: Api, cache: ObjectCache) -> Reconciler:
    return reconciler_on(await scripted_kube(api), cache, now=lambda: NOW)


async def test_the_lock_release_deletes_the_cached_run_and_never_reads_it_again(
    scripted_kube: KubeFactory,
) -> None:
    cache = ObjectCache()
    cache.store_wfe(completed_wfe())
    cache.store_run(run())
    api = Api(run())
    subject = await reconciler(scripted_kube, api, cache)
    await subject.reconcile(KEY)
    assert api.run_requests() == ["DELETE"]
    cache.drop_run(run())  # the watch reports the deletion and queues the WFE again
    await subject.reconcile(KEY)
    assert api.run_requests() == ["DELETE"]


async def test_a_stale_cached_run_is_read_again_after_the_conflict(
    scripted_kube: KubeFactory,
) -> None:
    cache = ObjectCache()
    cache.store_wfe(completed_wfe())
    cache.store_run(run())
    api = Api(run(), delete_status=409)
    subject = await reconciler(scripted_kube, api, cache)
    await subject.reconcile(KEY)
    assert api.run_requests()[:3] == ["DELETE", "GET", "DELETE"]


@pytest.mark.parametrize("cached", [None, run(holder_uid="someone-else")])
async def test_without_our_own_run_in_the_cache_the_run_is_read(
    scripted_kube: KubeFactory, cached: dict[str, Any] | None
) -> None:
    cache = ObjectCache()
    cache.store_wfe(completed_wfe())
    if cached is not None:
        cache.store_run(cached)
    api = Api(None)
    subject = await reconciler(scripted_kube, api, cache)
    await subject.reconcile(KEY)
    assert api.run_requests() == ["GET"]


async def test_a_deleted_wfe_whose_run_was_released_needs_no_read(
    scripted_kube: KubeFactory,
) -> None:
    cache = ObjectCache()
    cache.store_wfe(completed_wfe())
    cache.store_run(run())
    api = Api(run())
    subject = await reconciler(scripted_kube, api, cache)
    await subject.reconcile(KEY)
    cache.store_wfe(completed_wfe(resourceVersion="9", deletionTimestamp="2026-01-01T11:59:00Z"))
    await subject.reconcile(KEY)
    assert api.run_requests() == ["DELETE"]
    methods = [method for method, path in api.requests if "/workflowexecutions/" in path]
    assert methods == ["PATCH"]  # the finalizer removal


@pytest.mark.parametrize(
    ("meta", "reads"),
    [({}, []), ({"deletionTimestamp": "2026-01-01T11:59:00Z"}, ["GET"])],
    ids=["finished", "finished-and-deleted"],
)
async def test_a_complete_cache_without_the_run_spares_the_read_of_a_finished_wfe(
    scripted_kube: KubeFactory, meta: dict[str, Any], reads: list[str]
) -> None:
    cache = ObjectCache()
    cache.runs_complete = True
    cache.store_wfe(completed_wfe(**meta))
    api = Api(None)
    subject = await reconciler(scripted_kube, api, cache)
    await subject.reconcile(KEY)
    assert api.run_requests() == reads
