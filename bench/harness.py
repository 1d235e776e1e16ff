"""The harness shared by the scenarios: a served emulator with the execution namespace, waiting
helpers, and request counting over request records (the emulator's request log, or the real API
server's audit log read by `bench.targets`)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path

from bench.objects import EXECUTION_NAMESPACE, namespace
from kubernaut_wfe_tools.emulator import ApiEmulator
from kubernaut_wfe_tools.emulator.faults import RequestRecord
from kubernaut_wfe_tools.testing.targets import CONTROLLER_AGENTS

COUNTED_RESOURCES = ("workflowexecutions", "pipelineruns", "jobs")
"""WFEs and runs of both kinds: a new WFE reads its lock name as either kind of run."""
STREAMING_VERBS = ("watch", "list")
CONTROLLER_WATCHES = ("workflowexecutions", "pipelineruns", "taskruns", "jobs", "pods", "events")
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


def exit_check(process: asyncio.subprocess.Process, name: str, log: Path) -> Callable[[], None]:
    """A check that raises `BenchTimeoutError` with the end of `log` once `process` has exited."""

    def check() -> None:
        if process.returncode is not None:
            tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise BenchTimeoutError(f"the {name} exited ({process.returncode}):\n{tail}")

    return check


async def wait_until(
    probe: Callable[[], bool],
    what: str,
    timeout: float = 180,  # noqa: ASYNC109
    check: Callable[[], None] | None = None,
) -> None:
    """Poll `probe` until true; BenchTimeoutError after `timeout` seconds, or as soon as `check`
    raises (e.g. `exit_check`: the process doing the work is gone)."""
    deadline = time.monotonic() + timeout
    while not probe():
        if check is not None:
            check()
        if time.monotonic() > deadline:
            raise BenchTimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(POLL)


def watching(emu: ApiEmulator, resources: Iterable[str]) -> bool:
    """Whether the emulator has an open watch on each of these resources."""
    keys = {watcher.resource_key for watcher in emu.store.watchers()}
    return all(emu.resource(name).key in keys for name in resources)


async def wait_quiet(
    request_count: Callable[[], int],
    quiet_for: float,
    timeout: float = 60,  # noqa: ASYNC109
) -> None:
    """Wait until `request_count()` (requests served so far) has not changed for `quiet_for`
    seconds."""
    deadline = time.monotonic() + timeout
    seen, since = request_count(), time.monotonic()
    while time.monotonic() - since < quiet_for and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        count = request_count()
        if count != seen:
            seen, since = count, time.monotonic()


def is_controller(record: RequestRecord) -> bool:
    """A request the controller sent (its own client or kopf's)."""
    return record.user_agent.startswith(CONTROLLER_AGENTS)


def counted_requests(
    records: Iterable[RequestRecord], sender: Callable[[RequestRecord], bool] | None = None
) -> Counter[str]:
    """Requests (of `sender`, when given) on WFEs and runs by `verb resource[/subresource]`
    (watches and lists, which do not grow with the number of WFEs, left out)."""
    counts: Counter[str] = Counter()
    for record in records:
        if (sender and not sender(record)) or record.resource not in COUNTED_RESOURCES:
            continue
        if record.verb in STREAMING_VERBS:
            continue
        suffix = f"/{record.subresource}" if record.subresource else ""
        counts[f"{record.verb} {record.resource}{suffix}"] += 1
    return counts


def counted_until(
    records: Iterable[RequestRecord], reached: dict[str, float], owners: dict[str, str]
) -> Counter[str]:
    """Like `counted_requests` (of any sender), but only each WFE's requests (on it, or on a run,
    of either kind, at the name of the run whose owner label names it) that arrived before the WFE
    reached the state: `reached` maps WFE names to the `time.perf_counter()` instants it was seen
    there, `owners` run names to WFE names."""
    wall_minus_perf = time.time() - time.perf_counter()
    kept = []
    for record in records:
        name = record.name or ""
        wfe = name if record.resource == "workflowexecutions" else owners.get(name)
        at = reached.get(wfe or "")
        if at is not None and record.timestamp <= at + wall_minus_perf:
            kept.append(record)
    return counted_requests(kept)


async def wait_for_controller(
    watches: Callable[[Iterable[str]], bool], process: asyncio.subprocess.Process, log: Path
) -> None:
    """Wait until `watches` says the controller watches everything it watches (WFEs, runs,
    TaskRuns, pods, Events); fail with its log if it exits."""
    await wait_until(
        lambda: watches(CONTROLLER_WATCHES),
        "the controller's watches",
        timeout=300,
        check=exit_check(process, "controller", log),
    )
