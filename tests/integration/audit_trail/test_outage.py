"""DataStorage down for more than 30 s across every transition of 100 WFEs, then back, then
SIGKILLed once while a batch is in flight and restarted on the same database: afterwards each
WFE has exactly its due events, none missing, none twice, and `AuditRecorded` True."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from kubernaut_wfe.constants import ConditionReason
from kubernaut_wfe_tools.processes import free_port
from kubernaut_wfe_tools.testing.stack import FAILING, HELLO, wfe_body
from kubernaut_wfe_tools.testing.testcluster import TestCluster

from .conftest import TERMINAL, Stack, audit_reason, audit_succeeded, make_stack  # noqa: TID252
from .services import AuditServiceProcess, Forward, FrontProxy  # noqa: TID252
from .trail import RUN_FAILED_TRAIL, SUCCESS_TRAIL, SpecJudges, assert_event_shapes  # noqa: TID252

pytestmark = pytest.mark.timeout(480)
WFE_COUNT = 100
MIN_OUTAGE_SECONDS = 30.0
SLOW_WAIT = 300.0


def is_failing(index: int) -> bool:
    return index % 4 == 0


def names() -> list[str]:
    return [f"outage-{index:03d}" for index in range(WFE_COUNT)]


@pytest.fixture
async def outage_stack(
    tmp_path: Path, judges: SpecJudges, api_cluster: TestCluster | None
) -> AsyncIterator[Stack]:
    """The stack pointed at a port where nothing listens yet."""
    async with make_stack(
        tmp_path, f"http://127.0.0.1:{free_port()}", judges, api_cluster
    ) as stack:
        yield stack


async def stored_total(audit_url: str) -> int:
    async with httpx.AsyncClient(base_url=audit_url, timeout=30) as client:
        response = await client.get(
            "/api/v1/audit/events", params={"event_category": "workflowexecution", "limit": "1"}
        )
        assert response.status_code == 200, response.text
        total: int = response.json()["pagination"]["total"]
        return total


def count_rows(database_file: Path) -> int:
    """Events committed to the audit service's SQLite file (0 before its table exists)."""
    if not database_file.exists():
        return 0
    with contextlib.closing(sqlite3.connect(database_file, timeout=10)) as connection:
        try:
            row = connection.execute("SELECT count(*) FROM audit_events").fetchone()
        except sqlite3.OperationalError:
            return 0
        return int(row[0])


@pytest.mark.parametrize("kill_point", ["receiving", "committed"])
async def test_outage_then_a_kill_mid_batch_loses_and_duplicates_nothing(
    outage_stack: Stack, kill_point: str
) -> None:
    """`receiving`: killed with half the batch received (nothing stored); `committed`: killed
    after storing the batch, before answering (the controller must ask before re-sending)."""
    stack = outage_stack
    loop = asyncio.get_running_loop()
    proxy_port = int(stack.audit_url.rsplit(":", 1)[1])
    database_file = stack.tmp_path / "audit.db"
    database = f"sqlite:///{database_file}"
    backend_port = free_port()
    outage_began = loop.time()
    await stack.start_controller()
    for index, name in enumerate(names()):
        parameters = {"DELAY_SECONDS": "1"}
        if is_failing(index):
            parameters["FAILURE_MODE"] = "exit"
        image = FAILING if is_failing(index) else HELLO
        await stack.create(wfe_body(name, image=image, parameters=parameters))

    async def all_terminal_and_pending() -> bool:
        return all(
            [
                (obj := await stack.wfe(name)) is not None
                and obj.get("status", {}).get("phase") in TERMINAL
                and audit_reason(obj) == ConditionReason.AUDIT_PENDING
                for name in names()
            ]
        )

    await stack.wait_for(
        all_terminal_and_pending, what="every WFE terminal, audit pending", within=SLOW_WAIT
    )
    # The outage must span at least 30 s in total (a requirement of the scenario, not a check).
    await asyncio.sleep(max(0.0, MIN_OUTAGE_SECONDS - (loop.time() - outage_began)))
    assert await all_terminal_and_pending()

    first = AuditServiceProcess(backend_port, database, stack.tmp_path / "audit-first.log")
    killed = asyncio.Event()
    stored_before_kill: list[int] = []

    async def kill_while_the_batch_is_in_flight(request: bytes, send: Forward) -> None:
        if kill_point == "receiving":
            await send(request[: len(request) // 2])
        else:
            await send(request)
            await stack.wait_for(
                lambda: asyncio.to_thread(count_rows, database_file),
                what="the batch to be committed",
            )
        stored_before_kill.append(await asyncio.to_thread(count_rows, database_file))
        await first.kill()
        killed.set()

    await first.start()
    async with FrontProxy(
        proxy_port, backend_port, intercept_batch=kill_while_the_batch_is_in_flight
    ) as proxy:
        await stack.wait_for(killed.is_set, what="the first batch POST", within=SLOW_WAIT)
        assert proxy.batches_seen >= 1
        if kill_point == "receiving":
            assert stored_before_kill == [0]
        else:
            assert stored_before_kill[0] > 0
        second = AuditServiceProcess(backend_port, database, stack.tmp_path / "audit-second.log")
        await second.start()
        try:

            async def all_recorded() -> bool:
                return all([audit_succeeded(await stack.wfe(name)) for name in names()])

            await stack.wait_for(all_recorded, what="every AuditRecorded True", within=SLOW_WAIT)
            expected_total = 0
            for index, name in enumerate(names()):
                expected = RUN_FAILED_TRAIL if is_failing(index) else SUCCESS_TRAIL
                expected_total += len(expected)
                wfe = await stack.wfe(name)
                assert wfe is not None
                events = await stack.trail(f"rr-{name}")
                keys = Counter((e["resource_id"], e["event_type"]) for e in events)
                assert keys == Counter({(name, str(t)): 1 for t in expected}), (name, keys)
                assert_event_shapes(events, wfe, stack.judges)
                assert sorted(wfe["status"]["auditedEvents"]) == sorted(expected)
            assert await stored_total(stack.audit_url) == expected_total
        finally:
            await second.stop()
