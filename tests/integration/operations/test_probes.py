"""`/healthz` follows the watch streams (a dead watch fails it, a normal reconnect does not, and
it recovers); `/readyz` needs the Tekton CRDs and reports DataStorage without depending on it,
unless configured to fail closed while DataStorage is unreachable."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from kubernaut_wfe_tools.crdschema import packaged_crd_path
from kubernaut_wfe_tools.testing.stack import wfe_body
from kubernaut_wfe_tools.testing.targets import target_kind
from kubernaut_wfe_tools.testing.testcluster import TestCluster

# The suite's stack lives in the sibling conftest (importlib mode: no absolute path).
from .conftest import Stack, operations_stack  # noqa: TID252

pytestmark = pytest.mark.timeout(180)

WATCH_TIMEOUT = ("--watch-timeout", "2s")


def probe_watches(stack: Stack) -> int:
    """Watch requests served so far on WorkflowExecutions (kopf's and the probe's)."""
    return len(stack.requests.filter(verb="watch", resource="workflowexecutions"))


async def test_healthz_survives_normal_reconnects_fails_on_a_dead_watch_and_recovers(
    stack: Stack,
) -> None:
    controller = await stack.start_controller(*WATCH_TIMEOUT)
    await stack.wait_for(lambda: probe_watches(stack) >= 2, what="the first watches")
    opened = probe_watches(stack)

    async def healthy_through_reconnects() -> bool:
        response = await stack.probe(controller, "/healthz")
        assert response.status_code == 200, response.text
        return probe_watches(stack) >= opened + 6

    await stack.wait_for(healthy_through_reconnects, what="several watch timeouts and reconnects")

    # Every new watch is held unanswered, and the open ones are cut.
    stack.faults.add(action="hold", verb="watch", count=100_000)
    stack.faults.add(action="drop-watch", count=0)

    async def unhealthy() -> httpx.Response | None:
        response = await stack.probe(controller, "/healthz")
        return response if response.status_code == 503 else None

    failed = await stack.wait_for(unhealthy, what="/healthz to fail on the dead watch")
    body = failed.json()
    assert body["status"] == "failed"
    assert "watch" in body["reason"]
    assert body["checks"]["event_loop"] == "ok"

    stack.faults.clear()

    async def healthy() -> bool:
        return (await stack.probe(controller, "/healthz")).status_code == 200

    await stack.wait_for(healthy, what="/healthz to recover")
    await stack.create(wfe_body("after-recovery"))
    await stack.wait_phase("after-recovery", "Completed")


async def test_a_refused_watch_fails_healthz_until_the_api_answers_again(stack: Stack) -> None:
    controller = await stack.start_controller(*WATCH_TIMEOUT)
    await stack.wait_for(lambda: probe_watches(stack) >= 2, what="the first watches")
    stack.faults.add(action="drop-watch", resource="workflowexecutions", status=503, count=100_000)

    async def unhealthy() -> bool:
        return (await stack.probe(controller, "/healthz")).status_code == 503

    await stack.wait_for(unhealthy, what="/healthz to fail while watches are refused")
    stack.faults.clear()

    async def healthy() -> bool:
        return (await stack.probe(controller, "/healthz")).status_code == 200

    await stack.wait_for(healthy, what="/healthz to recover")


async def test_readyz_reports_datastorage_but_does_not_depend_on_it(stack: Stack) -> None:
    controller = await stack.start_controller(datastorage_url="http://127.0.0.1:9")
    await stack.create(wfe_body("unaudited"))
    await stack.wait_phase("unaudited", "Completed")

    async def ready() -> httpx.Response | None:
        response = await stack.probe(controller, "/readyz")
        return response if response.status_code == 200 else None

    response = await stack.wait_for(ready, what="/readyz")
    checks = response.json()["checks"]
    assert checks["datastorage"].startswith("unreachable")
    assert checks["tekton"] == "ok"
    assert checks["engines"] == ["job", "tekton"]


async def test_readyz_fails_closed_on_datastorage_only_when_configured(stack: Stack) -> None:
    config = stack.tmp_path / "config.yaml"
    config.write_text("datastorage:\n  requireForReadiness: true\n", encoding="utf-8")
    gated = await stack.start_controller(
        "--config", str(config), datastorage_url="http://127.0.0.1:9"
    )
    await stack.create(wfe_body("gated"))
    await stack.wait_phase("gated", "Completed")  # reconciling does not wait for DataStorage

    async def refused_for_datastorage() -> httpx.Response | None:
        response = await stack.probe(gated, "/readyz")
        reason = response.json().get("reason") or ""
        return response if response.status_code == 503 and "DataStorage" in reason else None

    body = (await stack.wait_for(refused_for_datastorage, what="/readyz to fail closed")).json()
    assert body["reason"].startswith("DataStorage at http://127.0.0.1:9/health is not ready")
    assert body["checks"]["datastorage"].startswith("unreachable")
    assert body["checks"]["tekton"] == "ok"
    await gated.stop()

    reachable = await stack.start_controller("--config", str(config))

    async def ready() -> httpx.Response | None:
        response = await stack.probe(reachable, "/readyz")
        return response if response.status_code == 200 else None

    checks = (await stack.wait_for(ready, what="/readyz with DataStorage reachable")).json()
    assert checks["checks"]["datastorage"] == "reachable"


async def test_readyz_fails_without_the_tekton_crds(
    tmp_path: Path, audit_url: str, request: pytest.FixtureRequest
) -> None:
    # A server without Tekton's CRDs: the module's own cluster with them deleted (the shared one
    # keeps them), or an emulator serving only ours.
    if target_kind() == "cluster":
        cluster: TestCluster = request.getfixturevalue("own_cluster")
        tekton_crds = [
            name for name in cluster.kubectl("get", "crd", "-o", "name").split()
            if name.endswith(".tekton.dev")
        ]  # fmt: skip
        assert tekton_crds
        cluster.kubectl("delete", *tekton_crds)
        serving = operations_stack(tmp_path, audit_url, cluster=cluster, tekton=False)
    else:
        crds = [Path(packaged_crd_path())]
        serving = operations_stack(tmp_path, audit_url, cluster=None, crd_paths=crds, tekton=False)
    async with serving as stack:
        controller = await stack.start_controller()
        await stack.wait_for(
            lambda: stack.requests.filter(resource="customresourcedefinitions"),
            what="the controller to look for CRDs",
        )

        async def answered() -> httpx.Response | None:
            response = await stack.probe(controller, "/readyz")
            return response if "tekton" in response.text.lower() else None

        response = await stack.wait_for(answered, what="/readyz to name the missing CRDs")
        assert response.status_code == 503
        assert "tekton.dev" in response.json()["reason"]
        assert (await stack.probe(controller, "/healthz")).status_code == 200


async def test_an_oversized_header_on_the_probe_port_is_one_log_line(stack: Stack) -> None:
    controller = await stack.start_controller(log_format="json")
    ports = await stack.wait_for(controller.ports, what="the controller's endpoints")
    reader, writer = await asyncio.open_connection("127.0.0.1", ports["probes"])
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n")
    await writer.drain()
    answer = await reader.read()
    writer.close()
    assert answer.split(b"\r\n", 1)[0].endswith(b" 400 Bad Request"), answer

    def logged() -> str | None:
        log = controller.log()
        return log if "refused a malformed HTTP request from 127.0.0.1" in log else None

    log = await stack.wait_for(logged, what="the one line about the request")
    assert "Traceback" not in log, log
    assert (await stack.probe(controller, "/healthz")).status_code == 200
