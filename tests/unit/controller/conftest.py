"""A scripted Kubernetes API on 127.0.0.1 (aiohttp), a `KubeClient` pointed at it, and a
`Reconciler` over that client."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from kubernaut_wfe.adapters.discovery import ApiDiscovery
from kubernaut_wfe.adapters.kube import KubeClient, KubeConnection
from kubernaut_wfe.adapters.kubeconfig import KubeConfig
from kubernaut_wfe.adapters.retry import RetryPolicy
from kubernaut_wfe.constants import FINALIZER
from kubernaut_wfe.core.config import load_config
from kubernaut_wfe.reconcile.cache import ObjectCache
from kubernaut_wfe.reconcile.metrics import ControllerMetrics
from kubernaut_wfe.reconcile.reconciler import Reconciler

DISCOVERY: dict[str, Any] = {
    "/api/v1": {"kind": "APIResourceList", "groupVersion": "v1", "resources": []},
    "/apis": {
        "kind": "APIGroupList",
        "groups": [{"name": "apps", "preferredVersion": {"groupVersion": "apps/v1"}}],
    },
    "/apis/apps/v1": {
        "kind": "APIResourceList",
        "groupVersion": "apps/v1",
        "resources": [
            {
                "name": "deployments",
                "singularName": "deployment",
                "namespaced": True,
                "kind": "Deployment",
                "shortNames": ["deploy"],
            }
        ],
    },
}
"""What the scripted API answers to discovery (Deployments only), before any handler."""

Handler = Callable[[str, str, Any], tuple[int, Any]]
"""(method, path, JSON body or None) → (status code, JSON answer)."""
KubeFactory = Callable[[Handler], Awaitable[KubeClient]]


@pytest.fixture
async def scripted_kube() -> AsyncIterator[KubeFactory]:
    """`await scripted_kube(handler)`: a client (no retries) of a server answering discovery
    (`DISCOVERY`) and everything else via `handler`; both are closed after the test."""
    servers: list[TestServer] = []
    clients: list[KubeClient] = []

    async def make(handler: Handler) -> KubeClient:
        async def handle(request: web.Request) -> web.Response:
            if request.method == "GET" and request.path in DISCOVERY:
                return web.json_response(DISCOVERY[request.path])
            raw = await request.read()
            code, answer = handler(request.method, request.path, json.loads(raw) if raw else None)
            return web.json_response(answer, status=code)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handle)
        server = TestServer(app, host="127.0.0.1", port=0)
        await server.start_server()
        servers.append(server)
        url = str(server.make_url("")).rstrip("/")
        client = KubeClient(
            KubeConnection.open(KubeConfig(server=url)), retry=RetryPolicy(max_attempts=1)
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()
    for server in servers:
        await server.close()


def wfe_document(status: dict[str, Any], **meta: Any) -> dict[str, Any]:
    """WFE `team/w` (uid `wfe-uid`, resourceVersion 5, our finalizer) with `status`;
    `meta` overrides metadata fields."""
    return {
        "apiVersion": "kubernaut.ai/v1alpha1",
        "kind": "WorkflowExecution",
        "metadata": {
            "name": "w",
            "namespace": "team",
            "uid": "wfe-uid",
            "resourceVersion": "5",
            "generation": 1,
            "finalizers": [FINALIZER],
            "creationTimestamp": "2026-01-01T10:00:00Z",
            **meta,
        },
        "spec": {
            "remediationRequestRef": {"name": "rr"},
            "workflowRef": {"workflowId": "x", "version": "1", "containerImage": "q/x:v1"},
            "targetResource": "team/deployment/x",
        },
        "status": status,
    }


Schedule = Callable[[Any, float], None]


def reconciler_on(
    kube: KubeClient,
    cache: ObjectCache,
    *,
    now: Callable[[], datetime],
    schedule: Schedule = lambda key, delay: None,
    discovery: ApiDiscovery | None = None,
    metrics: ControllerMetrics | None = None,
) -> Reconciler:
    """A `Reconciler` over the scripted client with the default configuration and `now` as
    its clock (discovery unloaded unless given)."""
    return Reconciler(
        config=load_config(),
        kube=kube,
        cache=cache,
        metrics=metrics or ControllerMetrics(),
        schedule=schedule,
        discovery=discovery or ApiDiscovery(kube),
        now=now,
    )
