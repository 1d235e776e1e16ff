"""The controller SIGKILLed where an audit event is most at risk, then restarted: one run, the
right final phase, each due event stored exactly once. (`tests/integration/controller/
test_restart.py` covers a 503 on the Running write, a kill while Running and one after the terminal
write; these add a Running write held in flight and a terminal batch in flight at the kill.)"""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from kubernaut_wfe_tools.processes import free_port
from kubernaut_wfe_tools.testing.audit_service import in_process_audit_service
from kubernaut_wfe_tools.testing.stack import wfe_body
from kubernaut_wfe_tools.testing.testcluster import TestCluster

from .conftest import Stack, make_stack  # noqa: TID252
from .services import FrontProxy  # noqa: TID252
from .trail import COMPLETED, SUCCESS_TRAIL, SpecJudges, assert_event_shapes, assert_exactly  # noqa: TID252

pytestmark = pytest.mark.timeout(240)


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def assert_trail_exactly_once(stack: Stack, name: str, runs: int = 1) -> dict[str, Any]:
    wfe = await stack.wait_audited(name)
    assert wfe["status"]["phase"] == "Completed"
    events = await stack.trail(f"rr-{name}")
    assert_exactly(events, SUCCESS_TRAIL)
    assert_event_shapes(events, wfe, stack.judges)
    assert stack.run_creations() == runs
    return wfe


async def test_killed_with_the_running_write_held_in_flight(stack: Stack) -> None:
    first = await stack.start_controller()
    rule = stack.faults.add(
        action="hold", verb="patch", resource="workflowexecutions", subresource="status"
    )
    await stack.create(wfe_body("held", parameters={"DELAY_SECONDS": "2"}))

    def held() -> bool:
        # A held request reaches the real server's audit log only once released: ask the rule.
        return rule.served >= 1

    await stack.wait_for(held, what="the Running write to be held")
    assert stack.run_creations() == 1
    await first.stop(signal.SIGKILL)
    stack.faults.clear()  # the held write now lands, written by a dead controller
    await stack.start_controller()
    await assert_trail_exactly_once(stack, "held")


@dataclass
class ProxiedStack:
    stack: Stack
    proxy: FrontProxy


@pytest.fixture
async def proxied(
    tmp_path: Path, judges: SpecJudges, api_cluster: TestCluster | None
) -> AsyncIterator[ProxiedStack]:
    """The stack with the controller talking to the audit service through a front proxy."""
    backend_port, proxy_port = free_port(), free_port()
    async with (
        in_process_audit_service(f"sqlite:///{tmp_path / 'audit.db'}", backend_port),
        FrontProxy(proxy_port, backend_port) as proxy,
        make_stack(tmp_path, f"http://127.0.0.1:{proxy_port}", judges, api_cluster) as stack,
    ):
        yield ProxiedStack(stack, proxy)


@pytest.mark.parametrize("stored", [True, False], ids=["batch-stored", "batch-lost"])
async def test_killed_with_the_terminal_batch_in_flight(
    proxied: ProxiedStack, stored: bool
) -> None:
    """The terminal event's batch is held at the proxy while the controller dies; then it
    reaches DataStorage (`batch-stored`: the new controller must find it, not re-send it) or
    never does (`batch-lost`: the new controller must send it)."""
    stack, proxy = proxied.stack, proxied.proxy
    first = await stack.start_controller()
    proxy.hold_matching = str(COMPLETED).encode()
    proxy.hold_batches = True
    await stack.create(wfe_body("cut", parameters={"DELAY_SECONDS": "3"}))
    await stack.wait_phase("cut", "Completed")
    await stack.wait_for(proxy.held.is_set, what="the terminal batch at the proxy")
    await first.stop(signal.SIGKILL)
    proxy.release_batches(forward=stored)

    async def terminal_events() -> int:
        events = await stack.trail("rr-cut")
        return len([e for e in events if e["event_type"] == COMPLETED])

    if stored:
        await stack.wait_for(terminal_events, what="the held batch to be stored")
    else:
        assert await terminal_events() == 0
    await stack.start_controller()
    await assert_trail_exactly_once(stack, "cut")


async def test_killed_during_an_outage_nothing_is_lost(
    tmp_path: Path, judges: SpecJudges, api_cluster: TestCluster | None
) -> None:
    """Events buffered in the killed controller's memory are re-derived from status by the next
    one and delivered once DataStorage is back."""
    port = free_port()
    names = [f"orphan-{index}" for index in range(5)]
    async with make_stack(tmp_path, f"http://127.0.0.1:{port}", judges, api_cluster) as stack:
        first = await stack.start_controller()
        for name in names:
            await stack.create(wfe_body(name))
        for name in names:
            await stack.wait_phase(name, "Completed")
        await first.stop(signal.SIGKILL)
        await stack.start_controller()
        async with in_process_audit_service(f"sqlite:///{tmp_path / 'audit.db'}", port):
            for name in names:
                await assert_trail_exactly_once(stack, name, runs=len(names))


async def test_recreated_wfe_is_not_mistaken_for_its_predecessor(proxied: ProxiedStack) -> None:
    """A WFE re-created under the same name (same correlation id, resource id and event types)
    whose events were lost with the controller: the new controller's query finds only the
    predecessor's events, whose timestamps differ, and sends the new ones."""
    stack, proxy = proxied.stack, proxied.proxy
    first = await stack.start_controller(cooldown="1s")
    await stack.create(wfe_body("again"))
    predecessor = await stack.wait_audited("again")
    await stack.delete("again")
    await stack.wait_wfe_gone("again")
    proxy.hold_batches = True
    await stack.create(wfe_body("again"))
    await stack.wait_phase("again", "Completed")
    await stack.wait_for(proxy.held.is_set, what="a batch of the second WFE at the proxy")
    await first.stop(signal.SIGKILL)
    proxy.release_batches(forward=False)
    await stack.start_controller(cooldown="1s")
    successor = await stack.wait_audited("again")
    events = await stack.trail("rr-again")
    counts = Counter(e["event_type"] for e in events)
    assert counts == Counter({str(t): 2 for t in SUCCESS_TRAIL}), counts
    boundary = moment(successor["status"]["startTime"])
    assert boundary > moment(predecessor["status"]["completionTime"])
    newer = [e for e in events if moment(e["event_timestamp"]) >= boundary]
    older = [e for e in events if moment(e["event_timestamp"]) < boundary]
    for trail, wfe in ((older, predecessor), (newer, successor)):
        assert_exactly(trail, SUCCESS_TRAIL)
        assert_event_shapes(trail, wfe, stack.judges)
