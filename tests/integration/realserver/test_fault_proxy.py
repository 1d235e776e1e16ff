"""The fault proxy in front of the real API server: TLS the cluster's kubeconfigs verify, requests
and the ServiceAccount's token passed through as they came, responses streamed, and the
emulator's fault rules (error, hold, delay, drop-watch) applied by the same matching."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from kubernaut_wfe_tools.testing.faultproxy import FaultProxy, proxied_kubeconfig
from kubernaut_wfe_tools.testing.testcluster import CONTROLLER_USER, TestCluster

pytestmark = pytest.mark.timeout(60)

AGENT = "fault-proxy-test/1"
"""The User-Agent of this module's requests through the proxy."""
WAIT = 10.0
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


def runs(namespace: str) -> str:
    return f"/apis/tekton.dev/v1/namespaces/{namespace}/pipelineruns"


def run_body(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "tekton.dev/v1",
        "kind": "PipelineRun",
        "metadata": {"name": name},
        "spec": {"pipelineRef": {"name": "fault-proxy-test"}},
    }


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module", autouse=True)
def namespaces(cluster: TestCluster) -> Iterator[tuple[str, str]]:
    """Two namespaces of this module's own (the cluster is shared by the session), once the
    API server serves PipelineRuns."""
    names = (unique("fault-proxy"), unique("fault-proxy-other"))
    for name in names:
        cluster.kubectl("create", "namespace", name)
    _wait_until_runs_are_served(cluster, names)
    yield names
    cluster.kubectl("delete", "namespace", *names, "--wait=false")


def _wait_until_runs_are_served(cluster: TestCluster, namespaces: tuple[str, ...]) -> None:
    """Right after the CRDs are installed the API server answers some lists 429 `storage is
    (re)initializing` for a moment; clients retry (so would the controller): wait until the
    runs are listed in every namespace the tests use, several times in a row."""
    paths = [runs(namespace) for namespace in ("kubernaut-workflows", *namespaces)]
    in_a_row = 0
    with httpx.Client(base_url=cluster.url, verify=cluster.tls(), timeout=WAIT) as admin:
        for _ in range(int(30 / 0.1)):
            served = all(admin.get(path).status_code == 200 for path in paths)
            in_a_row = in_a_row + 1 if served else 0
            if in_a_row == 5:
                return
            time.sleep(0.1)
    raise AssertionError("the API server does not serve PipelineRuns steadily after 30 s")


@pytest.fixture
def ns(namespaces: tuple[str, str]) -> str:
    return namespaces[0]


@pytest.fixture
def other_ns(namespaces: tuple[str, str]) -> str:
    return namespaces[1]


@pytest.fixture
async def proxy(cluster: TestCluster) -> AsyncIterator[FaultProxy]:
    cert, key = cluster.proxy_certificate
    async with FaultProxy(cluster.url, cluster.tls(admin=False), cert, key) as started:
        yield started


def controller_token(cluster: TestCluster) -> str:
    config = yaml.safe_load(cluster.controller_kubeconfig.read_text(encoding="utf-8"))
    token: str = config["users"][0]["user"]["token"]
    return token


def proxied_client(cluster: TestCluster, proxy: FaultProxy) -> httpx.AsyncClient:
    """The controller's identity (its token) through the proxy, verifying with the cluster CA."""
    return httpx.AsyncClient(
        base_url=proxy.url,
        verify=cluster.tls(admin=False),
        headers={"Authorization": f"Bearer {controller_token(cluster)}", "User-Agent": AGENT},
        timeout=WAIT,
    )


@pytest.fixture
async def client(cluster: TestCluster, proxy: FaultProxy) -> AsyncIterator[httpx.AsyncClient]:
    async with proxied_client(cluster, proxy) as started:
        yield started


@pytest.fixture
async def admin(cluster: TestCluster) -> AsyncIterator[httpx.AsyncClient]:
    """Straight to the API server, as the admin: what the proxy did not change."""
    async with httpx.AsyncClient(base_url=cluster.url, verify=cluster.tls(), timeout=WAIT) as c:
        yield c


async def create_directly(admin: httpx.AsyncClient, namespace: str, name: str) -> None:
    answer = await admin.post(runs(namespace), json=run_body(name))
    assert answer.status_code == 201, answer.text


async def exists(admin: httpx.AsyncClient, namespace: str, name: str) -> bool:
    answer = await admin.get(f"{runs(namespace)}/{name}")
    assert answer.status_code in (200, 404), answer.text
    return answer.status_code == 200


class Watch:
    """The events of an open watch response, one at a time."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def event_for(self, name: str, kind: str = "ADDED") -> dict[str, Any]:
        """The next `kind` event about `name` (others are skipped)."""

        async def find() -> dict[str, Any]:
            async for line in self._lines:
                event: dict[str, Any] = json.loads(line)
                if event["type"] == kind and event["object"]["metadata"]["name"] == name:
                    return event
            raise AssertionError(f"the watch ended before a {kind} event for {name}")

        return await asyncio.wait_for(find(), WAIT)

    async def until_end(self) -> list[str]:
        """Every line left, once the stream has ended."""

        async def drain() -> list[str]:
            return [line async for line in self._lines]

        return await asyncio.wait_for(drain(), WAIT)


@contextlib.asynccontextmanager
async def watching(client: httpx.AsyncClient, namespace: str) -> AsyncIterator[Watch]:
    """A watch of the namespace's runs from now on, open for the block."""
    listed = await client.get(runs(namespace))
    assert listed.status_code == 200, listed.text
    since = listed.json()["metadata"]["resourceVersion"]
    async with client.stream(
        "GET",
        runs(namespace),
        params={"watch": "true", "resourceVersion": since},
        timeout=httpx.Timeout(WAIT, read=None),
    ) as response:
        assert response.status_code == 200
        yield Watch(response)


# -- passing through --------------------------------------------------------------------------


async def test_the_proxy_is_verified_by_the_cluster_ca_and_passes_the_token_through(
    cluster: TestCluster, proxy: FaultProxy, client: httpx.AsyncClient
) -> None:
    allowed = await client.get("/api/v1/namespaces/kubernaut-workflows")
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["metadata"]["name"] == "kubernaut-workflows"
    listed = await client.get(runs("kubernaut-workflows"))
    assert listed.status_code == 200, listed.text
    assert listed.json()["kind"] == "PipelineRunList"

    secrets = "/api/v1/namespaces/kubernaut-workflows/secrets"
    forbidden = await client.get(secrets)
    assert forbidden.status_code == 403
    status = forbidden.json()
    assert status["reason"] == "Forbidden"
    # the API server's own refusal, naming the user the token authenticates
    assert f'User "{CONTROLLER_USER}" cannot list resource "secrets"' in status["message"]
    assert list(proxy.refused) == []

    async def audited() -> list[dict[str, Any]]:
        for _ in range(int(WAIT / 0.1)):
            found = [
                r for r in cluster.audit_records(CONTROLLER_USER)
                if r["requestURI"] == secrets and r.get("userAgent") == AGENT
            ]  # fmt: skip
            if found:
                return found
            await asyncio.sleep(0.1)
        return []

    (record,) = await audited()
    assert record["responseStatus"]["code"] == 403
    assert record["verb"] == "list"

    untrusting = httpx.AsyncClient(base_url=proxy.url, verify=ssl.create_default_context())
    async with untrusting:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await untrusting.get("/version")


async def test_a_proxied_kubeconfig_takes_kubectl_through_the_proxy(
    cluster: TestCluster, proxy: FaultProxy, ns: str, tmp_path: Path
) -> None:
    kubeconfig = proxied_kubeconfig(
        cluster.controller_kubeconfig, proxy.url, tmp_path / "proxied.kubeconfig"
    )
    source = yaml.safe_load(cluster.controller_kubeconfig.read_text(encoding="utf-8"))
    copy = yaml.safe_load(kubeconfig.read_text(encoding="utf-8"))
    assert copy["clusters"][0]["cluster"]["server"] == proxy.url
    assert source["clusters"][0]["cluster"]["server"] == cluster.url
    assert copy["users"] == source["users"]
    assert (
        copy["clusters"][0]["cluster"]["certificate-authority"]
        == source["clusters"][0]["cluster"]["certificate-authority"]
    )
    assert copy["current-context"] == source["current-context"]

    async def kubectl(*args: str) -> tuple[int, str]:
        done = await asyncio.to_thread(
            cluster.run_kubectl, f"--cache-dir={tmp_path / 'cache'}", *args, kubeconfig=kubeconfig
        )
        return done.returncode, done.stdout + done.stderr

    code, output = await kubectl("get", "pipelineruns.tekton.dev", "-n", ns, "-o", "name")
    assert code == 0, output
    proxy.faults.add(
        action="error", status=503, verb="list", resource="pipelineruns.tekton.dev",
        namespace=ns, message="injected for kubectl", count=10,
    )  # fmt: skip
    code, output = await kubectl("get", "pipelineruns.tekton.dev", "-n", ns, "-o", "name")
    assert code != 0
    assert "injected for kubectl" in output
    refused = list(proxy.refused)
    assert refused
    assert {(r.verb, r.resource, r.namespace, r.status) for r in refused} == {
        ("list", "pipelineruns", ns, 503)
    }
    assert all(r.user_agent.startswith("kubectl/") for r in refused)


async def test_a_watch_delivers_each_event_while_its_stream_stays_open(
    proxy: FaultProxy, client: httpx.AsyncClient, admin: httpx.AsyncClient, ns: str
) -> None:
    first, second = unique("watched"), unique("watched")
    async with watching(client, ns) as watch:
        await create_directly(admin, ns, first)
        event = await watch.event_for(first)
        assert event["object"]["kind"] == "PipelineRun"
        # the stream is still open (nothing buffered it to its end): the next event comes too
        await create_directly(admin, ns, second)
        await watch.event_for(second)
        assert not watch.response.is_closed
    assert list(proxy.refused) == []


async def test_a_write_passes_with_its_body_and_content_type(
    client: httpx.AsyncClient, admin: httpx.AsyncClient, ns: str
) -> None:
    name = unique("written")
    created = await client.post(runs(ns), json=run_body(name))
    assert created.status_code == 201, created.text
    patch = {"metadata": {"labels": {"patched-through": "proxy"}}}
    # a merge patch: with its Content-Type changed or lost the API server would answer 415
    patched = await client.patch(f"{runs(ns)}/{name}", json=patch, headers=MERGE_PATCH)
    assert patched.status_code == 200, patched.text
    stored = (await admin.get(f"{runs(ns)}/{name}")).json()
    assert stored["metadata"]["labels"] == {"patched-through": "proxy"}
    deleted = await client.delete(f"{runs(ns)}/{name}")
    assert deleted.status_code == 200, deleted.text
    assert not await exists(admin, ns, name)


async def test_non_resource_paths_pass_with_no_fault_applied(
    proxy: FaultProxy, client: httpx.AsyncClient, admin: httpx.AsyncClient, ns: str
) -> None:
    everything = proxy.faults.add(action="error", status=500, count=1000)
    version = await client.get("/version")
    assert version.status_code == 200, version.text
    assert version.json() == (await admin.get("/version")).json()
    for path in ("/api", "/apis", "/apis/tekton.dev/v1", "/openapi/v3", "/readyz"):
        answer = await client.get(path)
        assert answer.status_code == 200, (path, answer.text)
    assert everything.served == 0
    assert list(proxy.refused) == []
    refused = await client.get(runs(ns))  # a resource request: the rule is live
    assert refused.status_code == 500
    assert everything.served == 1


# -- faults ---------------------------------------------------------------------------------


async def test_an_error_is_answered_by_the_proxy_and_never_reaches_the_api_server(
    proxy: FaultProxy, client: httpx.AsyncClient, admin: httpx.AsyncClient, ns: str
) -> None:
    name = unique("refused")
    message = 'admission webhook "test" denied the request'
    rule = proxy.faults.add(
        action="error", status=422, verb="create", resource="pipelineruns.tekton.dev",
        namespace=ns, message=message,
    )  # fmt: skip
    answer = await client.post(runs(ns), json=run_body(name))
    assert answer.status_code == 422
    status = answer.json()
    assert (status["kind"], status["reason"], status["code"]) == ("Status", "Invalid", 422)
    assert status["message"] == message
    assert not await exists(admin, ns, name)

    (record,) = proxy.refused
    assert (record.method, record.path, record.verb) == ("POST", runs(ns), "create")
    assert (record.resource, record.namespace, record.name, record.subresource) == (
        "pipelineruns", ns, None, None,
    )  # fmt: skip
    assert (record.fault, record.status, record.message) == ("error", 422, message)
    assert record.user_agent == AGENT
    assert record.query == {}
    assert record.timestamp > 0

    # count 1 is used up: the same request now reaches the API server
    assert rule.served == 1
    assert rule not in proxy.faults.rules
    again = await client.post(runs(ns), json=run_body(name))
    assert again.status_code == 201, again.text
    assert await exists(admin, ns, name)
    assert len(proxy.refused) == 1


async def test_a_429_says_when_to_retry_and_the_count_runs_out(
    proxy: FaultProxy, client: httpx.AsyncClient, ns: str
) -> None:
    path = f"{runs(ns)}/{unique('absent')}"
    proxy.faults.add(action="error", status=429, verb="get", resource="pipelineruns", count=2)
    for _ in range(2):
        answer = await client.get(path)
        assert answer.status_code == 429
        assert answer.headers["Retry-After"] == "1"
        assert answer.json()["reason"] == "TooManyRequests"
        assert answer.json()["details"]["retryAfterSeconds"] == 1
    passed = await client.get(path)
    assert passed.status_code == 404  # the API server's answer: there is no such run
    assert passed.json()["reason"] == "NotFound"
    assert "Retry-After" not in passed.headers
    assert [r.status for r in proxy.refused] == [429, 429]
    assert proxy.faults.rules == []


async def test_rules_match_by_namespace_name_and_subresource(
    proxy: FaultProxy,
    client: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    ns: str,
    other_ns: str,
) -> None:
    a, b = unique("a"), unique("b")
    await create_directly(admin, ns, a)
    await create_directly(admin, ns, b)
    proxy.faults.add(action="error", status=503, namespace=other_ns, count=100)
    proxy.faults.add(action="error", status=500, name=a, subresource="status", count=100)
    proxy.faults.add(action="error", status=409, name=b, verb="get", count=100)

    answers = {
        "a": (await client.get(f"{runs(ns)}/{a}")).status_code,
        "a/status": (await client.get(f"{runs(ns)}/{a}/status")).status_code,
        "b": (await client.get(f"{runs(ns)}/{b}")).status_code,
        "b/status": (await client.get(f"{runs(ns)}/{b}/status")).status_code,
        "list": (await client.get(runs(ns))).status_code,
        "other list": (await client.get(runs(other_ns))).status_code,
    }
    assert answers == {
        "a": 200,
        "a/status": 500,  # only a's status
        "b": 409,
        "b/status": 409,  # a rule without a subresource covers them all
        "list": 200,  # names no object
        "other list": 503,  # the namespace's rule
    }
    assert [(r.namespace, r.name, r.subresource, r.status) for r in proxy.refused] == [
        (ns, a, "status", 500),
        (ns, b, None, 409),
        (ns, b, "status", 409),
        (other_ns, None, None, 503),
    ]


async def test_a_held_request_goes_on_only_when_released(
    proxy: FaultProxy, client: httpx.AsyncClient, admin: httpx.AsyncClient, ns: str
) -> None:
    name = unique("held")
    proxy.faults.add(action="hold", verb="create", resource="pipelineruns", namespace=ns)
    creating = asyncio.create_task(client.post(runs(ns), json=run_body(name)))
    await asyncio.sleep(0.5)
    assert not creating.done()
    assert not await exists(admin, ns, name)  # held before it was forwarded
    proxy.faults.release()
    created = await asyncio.wait_for(creating, WAIT)
    assert created.status_code == 201, created.text
    assert await exists(admin, ns, name)

    proxy.faults.add(action="hold", verb="get", name=name)
    reading = asyncio.create_task(client.get(f"{runs(ns)}/{name}"))
    await asyncio.sleep(0.3)
    assert not reading.done()
    proxy.faults.clear()  # clearing the rules releases too
    read = await asyncio.wait_for(reading, WAIT)
    assert read.status_code == 200
    assert list(proxy.refused) == []


async def test_a_delayed_request_is_forwarded_after_the_delay(
    proxy: FaultProxy, client: httpx.AsyncClient, ns: str
) -> None:
    path = f"{runs(ns)}/{unique('delayed')}"
    rule = proxy.faults.add(action="delay", delay_seconds=0.5, verb="get", resource="pipelineruns")
    started = time.monotonic()
    answer = await client.get(path)
    assert time.monotonic() - started >= 0.5
    assert answer.status_code == 404  # from the API server
    assert rule.served == 1
    assert list(proxy.refused) == []


async def test_a_drop_watch_rule_ends_open_watches_and_refuses_new_ones(
    proxy: FaultProxy,
    client: httpx.AsyncClient,
    admin: httpx.AsyncClient,
    ns: str,
    other_ns: str,
) -> None:
    async with watching(client, ns) as dropped, watching(client, other_ns) as kept:
        rule = proxy.faults.add(
            action="drop-watch", resource="pipelineruns.tekton.dev", namespace=ns, status=503
        )
        assert await dropped.until_end() == []
        # the other namespace's watch is still open and delivering
        name = unique("still-watched")
        await create_directly(admin, other_ns, name)
        await kept.event_for(name)

        listed = await client.get(runs(ns))  # not a watch: the rule does not apply
        assert listed.status_code == 200
        refused = await client.get(runs(ns), params={"watch": "true"})
        assert refused.status_code == 503
        assert refused.json()["reason"] == "ServiceUnavailable"
        (record,) = proxy.refused
        assert (record.verb, record.namespace, record.fault, record.status) == (
            "watch", ns, "drop-watch", 503,
        )  # fmt: skip
        assert record.query == {"watch": "true"}
        assert rule.served == 1
        async with watching(client, ns):  # the count is used up
            pass


async def test_leaving_the_proxy_releases_held_requests_and_ends_open_streams(
    cluster: TestCluster, ns: str
) -> None:
    cert, key = cluster.proxy_certificate
    proxy = FaultProxy(cluster.url, cluster.tls(admin=False), cert, key)
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(proxy)
        client = await stack.enter_async_context(proxied_client(cluster, proxy))
        proxy.faults.add(action="hold", verb="get", resource="pipelineruns")
        held = asyncio.create_task(client.get(f"{runs(ns)}/{unique('held')}"))
        watch = await stack.enter_async_context(watching(client, ns))
        await asyncio.sleep(0.3)
        assert not held.done()
        await asyncio.wait_for(proxy.__aexit__(None, None, None), WAIT)
        answer = await asyncio.wait_for(held, WAIT)
        assert answer.status_code == 404  # released, then answered by the API server
        assert await watch.until_end() == []
        with pytest.raises(RuntimeError, match="not serving"):
            _ = proxy.url
