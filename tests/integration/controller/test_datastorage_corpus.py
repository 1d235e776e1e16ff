"""The hostile DataStorage corpus (`tests/corpus/datastorage_answers.yaml`): a front answers the
controller's audit requests as each case says, then passes them to the real audit service. Every
WFE still reaches Completed, every due audit event is stored exactly once (or, for a refused one,
rejected for good: in status, one log line, the metric), and no traceback is logged.

Two controllers share the cluster and the front: one sends each event alone (batch size 1), so a
case's answers meet only its own events and all its cases run at once; the other batches as in
production, for the cases about a batch and those that restart it, which run one after another
so that a batch holds one case's events."""

from __future__ import annotations

import asyncio
import re
import signal
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from kubernaut_wfe.constants import AuditEventType
from kubernaut_wfe_tools.testing.datastorage_corpus import DataStorageCase, datastorage_cases
from kubernaut_wfe_tools.testing.hostile_datastorage import HostileDataStorage
from kubernaut_wfe_tools.testing.stack import (
    EXECUTION_NAMESPACE,
    ControllerProcess,
    serving_stack,
    wfe_body,
)
from kubernaut_wfe_tools.testing.testcluster import TestCluster

# The suite's stack lives in the sibling conftest (importlib mode: no absolute path).
from .conftest import Stack  # noqa: TID252

pytestmark = pytest.mark.timeout(300)
CASES = datastorage_cases()
ONE_BY_ONE = "ds-one-by-one"
BATCHED = "ds-batched"
TRAIL = (
    AuditEventType.SELECTION_COMPLETED,
    AuditEventType.EXECUTION_STARTED,
    AuditEventType.WORKFLOW_COMPLETED,
)
AUDIT_SETTLED = 150.0
"""Seconds a case's trail may take: the one-by-one controller's retries wait one behind another."""
CLIENT_TIMEOUT = "3s"


class Front(Stack):
    """The controller stack, with the audit service behind the hostile front."""

    wait_timeout = 90.0
    controller_log_format = "json"
    controller_ready = "endpoints"


@pytest.fixture
async def front_stack(
    tmp_path: Path, audit_url: str, api_cluster: TestCluster | None
) -> AsyncIterator[Front]:
    namespaces = (EXECUTION_NAMESPACE, ONE_BY_ONE, BATCHED)
    async with serving_stack(
        Front, tmp_path, audit_url, cluster=api_cluster, namespaces=namespaces
    ) as stack:
        yield stack


def stored_types(events: list[dict[str, Any]]) -> Counter[str]:
    return Counter(str(event["event_type"]) for event in events)


class CaseRun:
    """One case on the shared stack and front; `restart` restarts the case's controller."""

    def __init__(
        self,
        stack: Front,
        front: HostileDataStorage,
        case: DataStorageCase,
        restart: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.stack = stack
        self.front = front
        self.case = case
        self.namespace = BATCHED if case.batched else ONE_BY_ONE
        self.restart = restart
        self.uids: dict[str, str] = {}

    async def play(self) -> None:
        names = self.case.wfe_names()
        for name in names:
            created = await self.stack.create(wfe_body(name, namespace=self.namespace))
            self.uids[name] = created["metadata"]["uid"]
        for name in names:
            # Audit never holds a WFE back: each completes within the stack's usual wait.
            await self.stack.wait_phase(name, "Completed", namespace=self.namespace)
        if self.case.restart:
            assert self.restart is not None, self.case.name
            await self.stack.wait_for(
                lambda: self.front.served[self.case.name, 0], what=f"{self.case.name}: answer 0"
            )
            await self.restart()
        for index, name in enumerate(names):
            await self.settled(name, self.case.rejected_for(index))
        self.check_answers_served()

    async def settled(self, name: str, rejected: AuditEventType | None) -> None:
        """Wait until the WFE's audit outcome is final in its status, then check the store."""
        due = {event.value for event in TRAIL if event is not rejected}

        async def final() -> dict[str, Any] | None:
            wfe = await self.stack.wfe(name, self.namespace)
            status = (wfe or {}).get("status") or {}
            refused = set(status.get("rejectedAuditEvents") or [])
            done = set(status.get("auditedEvents") or []) == due and refused == (
                {rejected.value} if rejected else set()
            )
            return status if done else None

        status = await self.stack.wait_for(
            final, what=f"{name}: its audit outcome in status", within=AUDIT_SETTLED
        )
        counts = stored_types(await self.stack.audit_events(f"rr-{name}"))
        assert counts == Counter(due), (name, counts)
        recorded = next(c for c in status["conditions"] if c["type"] == "AuditRecorded")
        if rejected is None:
            assert recorded["status"] == "True", (name, recorded)
            return
        assert (recorded["status"], recorded["reason"]) == ("False", "AuditFailed"), name
        detail = next(a.detail for a in self.case.answers if a.event_type is rejected)
        lines = [
            line
            for controller in self.stack.controllers
            for line in controller.log().splitlines()
            if f"audit event {rejected.value} of {self.uids[name]} rejected" in line
        ]
        assert len(lines) == 1, (name, lines)
        assert detail in lines[0], (name, lines[0])

    def check_answers_served(self) -> None:
        for number, answer in enumerate(self.case.answers):
            served = self.front.served[self.case.name, number]
            assert served, f"{self.case.name}: answer {number} was never given"
            if answer.retry_after is None or self.case.restart:
                continue  # a restart cuts the wait short: the new process owes the old none
            touched = self.front.touched[self.case.name]
            for at in served:
                after = [t for t in touched if t > at]
                assert after, f"{self.case.name}: nothing was asked after a Retry-After"
                # A lower bound only: honouring Retry-After means never asking sooner.
                assert after[0] - at >= answer.retry_after * 0.95, (self.case.name, after[0] - at)


async def metric(controller: ControllerProcess, name: str, **labels: str) -> float:
    ports = controller.ports()
    assert ports is not None
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"http://127.0.0.1:{ports['metrics']}/metrics")).text
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    pattern = rf"^{re.escape(name)}(?:\{{{re.escape(wanted)}\}})? (\S+)$"
    found = re.search(pattern, text, re.MULTILINE)
    assert found is not None, (name, labels)
    return float(found.group(1))


async def start(
    stack: Front, front: HostileDataStorage, namespace: str, audit: str
) -> ControllerProcess:
    config = stack.tmp_path / f"{namespace}.yaml"
    config.write_text(f"audit:\n  timeout: {CLIENT_TIMEOUT}\n{audit}", encoding="utf-8")
    return await stack.start_controller(
        "--config", str(config), "--namespace", namespace, datastorage_url=front.url
    )


async def test_every_hostile_datastorage_answer_ends_as_the_corpus_says(
    front_stack: Front,
) -> None:
    stack = front_stack
    alone = [case for case in CASES if not case.batched]
    # The restarts first, so that the last batching process counts every later case.
    batched = sorted((case for case in CASES if case.batched), key=lambda case: not case.restart)
    async with HostileDataStorage(stack.audit_url, CASES) as front:
        one_by_one = await start(stack, front, ONE_BY_ONE, "  batch_size: 1\n")
        batching = await start(stack, front, BATCHED, "")

        async def restart() -> None:
            nonlocal batching
            await batching.stop(signal.SIGKILL)
            batching = await start(stack, front, BATCHED, "")

        async def in_turn() -> None:
            for case in batched:
                await CaseRun(stack, front, case, restart).play()

        await asyncio.gather(*(CaseRun(stack, front, case).play() for case in alone), in_turn())

    after_restarts = [case for case in batched if not case.restart]
    for controller, cases in ((one_by_one, alone), (batching, after_restarts)):
        rejected = sum(
            case.rejected_for(index) is not None for case in cases for index in range(case.wfes)
        )
        total = "workflowexecution_audit_events_total"
        assert await metric(controller, total, result="rejected") == rejected
        assert await metric(controller, "workflowexecution_audit_buffer_depth") == 0
    for controller in stack.controllers:
        assert "Traceback" not in controller.log(), controller.log_path
