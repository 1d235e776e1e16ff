"""The reconciler and API discovery (scripted API, see conftest.py): a Pending WFE whose kind
the table lacks is decided only on a table read after it was created; until the next read is
allowed it waits, untouched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kubernaut_wfe.adapters.discovery import ApiDiscovery
from kubernaut_wfe.core.naming import pipelinerun_name
from kubernaut_wfe.reconcile.cache import ObjectCache
from kubernaut_wfe.reconcile.reconciler import Reconciler

from .conftest import DISCOVERY, KubeFactory, reconciler_on, wfe_document  # noqa: TID252

READ_AT = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
KEY = ("team", "w")


class Api:
    """404 for runs, echoes status patches, accepts Events; records everything but discovery."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, Any]] = []

    def __call__(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        self.requests.append((method, path, body))
        if method == "POST":
            return 201, body
        if method == "PATCH":
            written = pending(target="")
            written.update(body)
            return 200, written
        return 404, {"kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404}

    def paths(self) -> list[str]:
        return [f"{method} {path}" for method, path, _ in self.requests]


def pending(target: str, created: str = "2026-01-01T11:00:00Z") -> dict[str, Any]:
    document = wfe_document({}, creationTimestamp=created)
    document["spec"]["targetResource"] = target
    return document


class Clock:
    def __init__(self) -> None:
        self.now = READ_AT

    def __call__(self) -> datetime:
        return self.now


async def subject_for(
    scripted_kube: KubeFactory, api: Api, document: dict[str, Any], clock: Clock | None = None
) -> tuple[Reconciler, list[tuple[Any, float]]]:
    kube = await scripted_kube(api)
    discovery = ApiDiscovery(kube, now=clock or (lambda: READ_AT))
    assert await discovery.load()
    cache = ObjectCache()
    cache.store_wfe(document)
    scheduled: list[tuple[Any, float]] = []
    reconciler = reconciler_on(
        kube,
        cache,
        now=lambda: READ_AT,
        schedule=lambda key, delay: scheduled.append((key, delay)),
        discovery=discovery,
    )
    return reconciler, scheduled


async def test_another_spelling_reads_the_canonical_lock(scripted_kube: KubeFactory) -> None:
    api = Api()
    subject, _ = await subject_for(scripted_kube, api, pending("team/Deployments/x"))
    await subject.reconcile(KEY)
    lock = pipelinerun_name("team/deployment/x")
    assert f"GET /apis/tekton.dev/v1/namespaces/kubernaut-workflows/pipelineruns/{lock}" in (
        api.paths()
    )
    (create,) = [body for method, path, body in api.requests if path.endswith("/pipelineruns")]
    assert create["metadata"]["name"] == lock


async def test_an_unknown_kind_fails_when_the_table_was_read_after_the_wfe_was_created(
    scripted_kube: KubeFactory,
) -> None:
    api = Api()
    subject, _ = await subject_for(scripted_kube, api, pending("team/nosuchkind/x"))
    await subject.reconcile(KEY)
    assert not [path for path in api.paths() if "pipelineruns" in path]
    (status,) = [body["status"] for method, _, body in api.requests if method == "PATCH"]
    assert status["phase"] == "Failed"
    assert status["failureDetails"]["reason"] == "ConfigurationError"
    assert "the kind 'nosuchkind'" in status["failureDetails"]["message"]


async def test_an_unknown_kind_of_a_wfe_newer_than_the_table_waits_for_the_next_read(
    scripted_kube: KubeFactory,
) -> None:
    api = Api()
    newer = (READ_AT + timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    subject, scheduled = await subject_for(scripted_kube, api, pending("team/widget/x", newer))
    await subject.reconcile(KEY)
    assert api.requests == []  # no finalizer, no read of the lock, no status
    assert scheduled == [(KEY, 30.0)]


async def test_a_kind_installed_since_the_last_read_is_resolved_at_once(
    scripted_kube: KubeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = Api()
    clock = Clock()
    just_now = (READ_AT + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    document = pending("team/widgets/x", just_now)
    subject, scheduled = await subject_for(scripted_kube, api, document, clock)
    groups = [*DISCOVERY["/apis"]["groups"], {
        "name": "example.com", "preferredVersion": {"groupVersion": "example.com/v1"},
    }]  # fmt: skip
    monkeypatch.setitem(DISCOVERY, "/apis", {"kind": "APIGroupList", "groups": groups})
    monkeypatch.setitem(DISCOVERY, "/apis/example.com/v1", {"resources": [
        {"name": "widgets", "singularName": "widget", "namespaced": True, "kind": "Widget"},
    ]})  # fmt: skip
    clock.now = READ_AT + timedelta(minutes=1)  # a read is allowed; it is no later than the WFE
    await subject.reconcile(KEY)
    assert all(delay == 0 for _, delay in scheduled)  # never waits for a later read
    (create,) = [body for method, path, body in api.requests if path.endswith("/pipelineruns")]
    assert create["metadata"]["name"] == pipelinerun_name("team/widget/x")
