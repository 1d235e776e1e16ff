"""The emulator-side harness shared by the scenarios: a served emulator with the execution
namespace, waiting helpers, and request counting from the emulator's request log."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path

from bench.objects import EXECUTION_NAMESPACE, namespace
from kubernaut_wfe.emulator import ApiEmulator
from kubernaut_wfe.emulator.faults import RequestRecord

CONTROLLER_AGENTS = ("kubernaut-wfe/", "kopf/")
COUNTED_RESOURCES = ("workflowexecutions", "pipelineruns")
STREAMING_VERBS = ("watch", "list")
CONTROLLER_WATCHES = ("workflowexecutions", "pipelineruns", "taskruns")
POLL = 0.02


class BenchTimeoutError(RuntimeError):
    """A scenario did not reach the state it waited for."""


@contextlib.asynccontextmanager
async def served_emulator() -> AsyncIterator[ApiEmulator]:
    """A fresh emulator on a free loopback port, with the execution namespace created."""
    emu = ApiEmulator(history_limit=200_000, bookmark_interval=3600)
    async with emu.serving(host="127.0.0.1", port=0):
        emu.seed([namespace(EXECUTION_NAMESPACE)])
        yield emu


async def wait_until(probe: Callable[[], bool], what: str, timeout: float = 180) -> None:  # noqa: ASYNC109
    """Poll `probe` until true; BenchTimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise BenchTimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(POLL)


def watching(emu: ApiEmulator, resources: Iterable[str]) -> bool:
    """Whether the emulator has an open watch on each of these resources."""
    keys = {watcher.resource_key for watcher in emu.store.watchers()}
    return all(emu.resource(name).key in keys for name in resources)


async def wait_quiet(
    emu: ApiEmulator,
    quiet_for: float,
    timeout: float = 60,  # noqa: ASYNC109
) -> None:
    """Wait until the emulator has served no request for `quiet_for` seconds."""
    deadline = time.monotonic() + timeout
    seen, since = len(emu.request_log), time.monotonic()
    while time.monotonic() - since < quiet_for and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        if len(emu.request_log) != seen:
            seen, since = len(emu.request_log), time.monotonic()


def is_controller(record: RequestRecord) -> bool:
    """A request the controller sent (its own client or kopf's)."""
    return record.user_agent.startswith(CONTROLLER_AGENTS)


def counted_requests(
    records: Iterable[RequestRecord], sender: Callable[[RequestRecord], bool]
) -> Counter[str]:
    """Requests on WFEs and PipelineRuns by `verb resource[/subresource]` (watches and lists,
    which do not grow with the number of WFEs, left out)."""
    counts: Counter[str] = Counter()
    for record in records:
        if not sender(record) or record.resource not in COUNTED_RESOURCES:
            continue
        if record.verb in STREAMING_VERBS:
            continue
        suffix = f"/{record.subresource}" if record.subresource else ""
        counts[f"{record.verb} {record.resource}{suffix}"] += 1
    return counts


def counted_until(
    records: Iterable[RequestRecord],
    sender: Callable[[RequestRecord], bool],
    reached: dict[str, float],
    owners: dict[str, str],
) -> Counter[str]:
    """Like `counted_requests`, but only each WFE's requests (on it, or on the run whose owner
    label names it) that arrived before the WFE reached the state: `reached` maps WFE names to
    `time.perf_counter()` commit times, `owners` run names to WFE names."""
    wall_minus_perf = time.time() - time.perf_counter()
    kept = []
    for record in records:
        name = record.name or ""
        wfe = name if record.resource == "workflowexecutions" else owners.get(name)
        at = reached.get(wfe or "")
        if at is not None and record.timestamp <= at + wall_minus_perf:
            kept.append(record)
    return counted_requests(kept, sender)


def records_from(emu: ApiEmulator, mark: int) -> list[RequestRecord]:
    """Request-log records from index `mark` on (take `len(emu.request_log)` as the mark)."""
    return list(emu.request_log)[mark:]


async def wait_for_controller(
    emu: ApiEmulator, process: asyncio.subprocess.Process, log: Path
) -> None:
    """Wait until the controller watches WFEs, runs and TaskRuns; fail with its log if it exits."""

    def started() -> bool:
        if process.returncode is not None:
            tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise BenchTimeoutError(f"the controller exited ({process.returncode}):\n{tail}")
        return watching(emu, CONTROLLER_WATCHES)

    await wait_until(started, "the controller's watches", timeout=300)
