"""The reconciler and the ServiceAccount a catalog snapshot names (scripted API, see
conftest.py): one GET of it in the execution namespace, once the target is free and just before
the create; a 404 fails the WFE, a refused or failed GET is retried with a growing backoff and
recorded as a missing permission for readiness."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kubernaut_wfe.adapters.discovery import ApiDiscovery
from kubernaut_wfe.core.naming import pipelinerun_name
from kubernaut_wfe.reconcile.cache import ObjectCache
from kubernaut_wfe.reconcile.reconciler import Reconciler
from kubernaut_wfe_tools.testing.catalog_fixtures import catalog_variant

from .conftest import KubeFactory, reconciler_on, wfe_document  # noqa: TID252

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
KEY = ("team", "w")
ACCOUNT_PATH = "/api/v1/namespaces/kubernaut-workflows/serviceaccounts/deployer"


def status_answer(code: int, reason: str) -> tuple[int, Any]:
    return code, {"kind": "Status", "status": "Failure", "reason": reason, "code": code}


class Api:
    """Runs are absent (and created on POST); the ServiceAccount answers `account_status`;
    status patches are echoed; every request is recorded."""

    def __init__(self, account_status: int) -> None:
        self.account_status = account_status
        self.requests: list[tuple[str, str, Any]] = []

    def __call__(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        self.requests.append((method, path, body))
        if path == ACCOUNT_PATH:
            if self.account_status == 200:
                return 200, {"kind": "ServiceAccount", "metadata": {"name": "deployer"}}
            reasons = {403: "Forbidden", 404: "NotFound"}
            return status_answer(self.account_status, reasons.get(self.account_status, "Failure"))
        if path.endswith("/selfsubjectaccessreviews"):
            return 201, {**body, "status": {"allowed": False}}
        if method == "POST":
            return 201, {**body, "metadata": {**body["metadata"], "uid": "run-uid"}}
        if method == "PATCH":
            written = catalog_wfe()
            written.update(body)
            return 200, written
        return status_answer(404, "NotFound")

    def bodies(self, method: str, suffix: str) -> list[Any]:
        return [
            body for verb, path, body in self.requests if verb == method and path.endswith(suffix)
        ]


def catalog_wfe() -> dict[str, Any]:
    document = wfe_document({})
    document["spec"] = catalog_variant(
        {"targetResource": "team/deployment/x", "workflowRef.serviceAccountName": "deployer"}
    )["spec"]
    return document


async def subject_for(
    scripted_kube: KubeFactory, api: Api
) -> tuple[Reconciler, list[tuple[Any, float]], Any]:
    kube = await scripted_kube(api)
    discovery = ApiDiscovery(kube, now=lambda: NOW)
    assert await discovery.load()
    cache = ObjectCache()
    cache.store_wfe(catalog_wfe())
    scheduled: list[tuple[Any, float]] = []
    reconciler = reconciler_on(
        kube,
        cache,
        now=lambda: NOW,
        schedule=lambda key, delay: scheduled.append((key, delay)),
        discovery=discovery,
    )
    return reconciler, scheduled, kube


async def test_an_existing_account_is_read_once_then_the_run_runs_as_it(
    scripted_kube: KubeFactory,
) -> None:
    api = Api(account_status=200)
    subject, _, _ = await subject_for(scripted_kube, api)
    await subject.reconcile(KEY)
    runs = "/apis/tekton.dev/v1/namespaces/kubernaut-workflows/pipelineruns"
    assert [
        (method, path)
        for method, path, _ in api.requests
        if path.startswith(runs) or path == ACCOUNT_PATH
    ] == [
        ("GET", f"{runs}/{pipelinerun_name('team/deployment/x')}"),  # the lock first
        ("GET", ACCOUNT_PATH),
        ("POST", runs),
    ]
    (run,) = api.bodies("POST", "/pipelineruns")
    assert run["spec"]["taskRunTemplate"]["serviceAccountName"] == "deployer"


async def test_a_missing_account_fails_the_wfe_without_a_run(scripted_kube: KubeFactory) -> None:
    api = Api(account_status=404)
    subject, _, _ = await subject_for(scripted_kube, api)
    await subject.reconcile(KEY)
    assert api.bodies("POST", "/pipelineruns") == []
    (patch,) = api.bodies("PATCH", "/status")
    details = patch["status"]["failureDetails"]
    assert (patch["status"]["phase"], details["reason"]) == ("Failed", "ConfigurationError")
    assert details["message"] == (
        'workflowRef.serviceAccountName "deployer": no such ServiceAccount in namespace'
        " kubernaut-workflows"
    )


async def test_a_refused_read_is_retried_later_each_time_later_and_reported_missing(
    scripted_kube: KubeFactory,
) -> None:
    api = Api(account_status=403)
    subject, scheduled, kube = await subject_for(scripted_kube, api)
    await subject.reconcile(KEY)
    await subject.reconcile(KEY)
    assert api.bodies("POST", "/pipelineruns") == []
    assert api.bodies("PATCH", "/status") == []  # the WFE is left Pending, untouched
    assert scheduled == [(KEY, 1.0), (KEY, 2.0)]
    missing = [str(permission) for permission, _ in await kube.missing_permissions()]
    assert missing == ["get serviceaccounts in namespace kubernaut-workflows"]

    api.account_status = 200  # the Role is fixed: the next reconcile creates the run
    await subject.reconcile(KEY)
    assert len(api.bodies("POST", "/pipelineruns")) == 1


async def test_a_server_error_on_the_read_never_fails_the_wfe(scripted_kube: KubeFactory) -> None:
    api = Api(account_status=503)
    subject, scheduled, _ = await subject_for(scripted_kube, api)
    await subject.reconcile(KEY)
    assert api.bodies("PATCH", "/status") == []
    assert scheduled == [(KEY, 1.0)]
