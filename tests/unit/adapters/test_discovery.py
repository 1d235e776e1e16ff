"""API discovery against a local HTTP server: the table read from the core group and each
group's preferred version, groups that fail, and when a read for an unknown kind is made."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from kubernaut_wfe.adapters.discovery import ApiDiscovery, preferred_group_versions
from kubernaut_wfe.adapters.kube import KubeClient, KubeConnection
from kubernaut_wfe.adapters.kubeconfig import KubeConfig
from kubernaut_wfe.adapters.retry import RetryPolicy
from kubernaut_wfe.core.targets import Kind, UnresolvedTarget, canonical_target

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
UNAVAILABLE = {"kind": "Status", "status": "Failure", "reason": "ServiceUnavailable", "code": 503}


def deployments() -> dict[str, Any]:
    return {
        "kind": "APIResourceList",
        "groupVersion": "apps/v1",
        "resources": [
            {"name": "deployments", "singularName": "deployment", "namespaced": True,
             "kind": "Deployment", "shortNames": ["deploy"]},
            {"name": "deployments/status", "singularName": "", "namespaced": True,
             "kind": "Deployment"},
        ],
    }  # fmt: skip


class Discovery:
    """A server's discovery documents by path (changeable), and the paths asked for."""

    def __init__(self) -> None:
        self.documents: dict[str, tuple[int, Any]] = {
            "/api/v1": (200, {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
                {"name": "nodes", "singularName": "node", "namespaced": False, "kind": "Node"},
            ]}),
            "/apis": (200, {"kind": "APIGroupList", "groups": [
                {"name": "apps", "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
                 "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"}},
                {"name": "metrics.k8s.io",
                 "versions": [{"groupVersion": "metrics.k8s.io/v1beta1", "version": "v1beta1"}]},
            ]}),
            "/apis/apps/v1": (200, deployments()),
            "/apis/metrics.k8s.io/v1beta1": (503, UNAVAILABLE),
        }  # fmt: skip
        self.asked: list[str] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.asked.append(request.path)
        code, body = self.documents.get(request.path, (404, {"code": 404}))
        await asyncio.sleep(0)
        return web.json_response(body, status=code)

    def install_widgets(self) -> None:
        """A CRD installed later: its group appears in `/apis`."""
        groups = self.documents["/apis"][1]["groups"]
        groups.append(
            {"name": "example.com", "preferredVersion": {"groupVersion": "example.com/v1"}}
        )
        self.documents["/apis/example.com/v1"] = (200, {"resources": [
            {"name": "widgets", "singularName": "widget", "namespaced": True, "kind": "Widget"},
        ]})  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def served() -> Discovery:
    return Discovery()


@pytest.fixture
async def kube(served: Discovery) -> AsyncIterator[KubeClient]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", served.handle)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    url = str(server.make_url("")).rstrip("/")
    connection = KubeConnection.open(KubeConfig(server=url))
    async with KubeClient(connection, retry=RetryPolicy(max_attempts=1)) as client:
        yield client
    await server.close()


def test_preferred_group_versions_in_the_servers_order() -> None:
    group_list = Discovery().documents["/apis"][1]
    assert preferred_group_versions(group_list) == [
        ("apps", "apps/v1"),
        ("metrics.k8s.io", "metrics.k8s.io/v1beta1"),  # no preferredVersion: its first
    ]


async def test_load_reads_the_core_group_and_each_groups_preferred_version(
    kube: KubeClient, served: Discovery
) -> None:
    discovery = ApiDiscovery(kube, now=Clock())
    assert await discovery.load()
    assert sorted(served.asked) == sorted(
        ["/api/v1", "/apis", "/apis/apps/v1", "/apis/metrics.k8s.io/v1beta1"]
    )
    spellings = discovery.kinds.spellings
    assert spellings["deploy"] == Kind("deployment", namespaced=True)
    assert spellings["node"] == Kind("node", namespaced=False)
    assert "deployments/status" not in spellings
    assert discovery.kinds.unavailable_groups == ("metrics.k8s.io",)


async def test_a_failed_load_keeps_the_table_it_had(kube: KubeClient, served: Discovery) -> None:
    discovery = ApiDiscovery(kube, now=Clock())
    assert await discovery.load()
    before = discovery.kinds
    served.documents["/apis"] = (500, {"code": 500})
    assert not await discovery.load()
    assert discovery.kinds is before


async def test_a_table_read_after_the_wfe_was_created_is_used_without_reading_again(
    kube: KubeClient, served: Discovery
) -> None:
    clock = Clock()
    discovery = ApiDiscovery(kube, now=clock)
    await discovery.load()
    served.asked.clear()
    clock.now += timedelta(minutes=5)
    created_before_the_read = START - timedelta(minutes=1)
    assert await discovery.table_for(created_before_the_read) is discovery.kinds
    assert served.asked == []


async def test_a_kind_installed_later_is_read_at_most_once_per_interval(
    kube: KubeClient, served: Discovery
) -> None:
    clock = Clock()
    discovery = ApiDiscovery(kube, interval=timedelta(seconds=30), now=clock)
    await discovery.load()
    served.install_widgets()
    served.asked.clear()
    clock.now += timedelta(seconds=10)
    created = clock.now - timedelta(seconds=5)  # after the start-up read
    assert await discovery.table_for(created) is None
    assert discovery.retry_after() == timedelta(seconds=20)
    assert served.asked == []
    clock.now += timedelta(seconds=20)
    table = await discovery.table_for(created)
    assert table is not None
    assert canonical_target("ns/widgets/w", table) == "ns/widget/w"
    assert "/apis/example.com/v1" in served.asked


async def test_concurrent_callers_share_one_read(kube: KubeClient, served: Discovery) -> None:
    clock = Clock()
    discovery = ApiDiscovery(kube, now=clock)
    tables = await asyncio.gather(
        *(discovery.table_for(START - timedelta(minutes=1)) for _ in range(5))
    )
    assert all(table is discovery.kinds for table in tables)
    assert served.asked.count("/api/v1") == 1


async def test_a_read_too_soon_after_the_wfe_was_created_does_not_count_for_it(
    kube: KubeClient, served: Discovery
) -> None:
    clock = Clock()
    discovery = ApiDiscovery(kube, now=clock)
    assert await discovery.table_for(START - timedelta(seconds=1)) is None  # within the margin
    assert served.asked.count("/api/v1") == 1
    resolved = canonical_target("ns/nosuchkind/x", discovery.kinds)
    assert isinstance(resolved, UnresolvedTarget)
    assert resolved.kind_unknown


async def test_a_failed_read_waits_for_the_interval_too(
    kube: KubeClient, served: Discovery
) -> None:
    clock = Clock()
    discovery = ApiDiscovery(kube, now=clock)
    served.documents["/api/v1"] = (503, UNAVAILABLE)
    assert not await discovery.load()
    assert await discovery.table_for(None) is None
    assert served.asked == ["/api/v1"]
    assert discovery.retry_after() == timedelta(seconds=30)
