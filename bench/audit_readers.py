"""The concurrent readers of scenario 4: while delivery loads the audit service, READERS readers
query it the way the platform does (`bench.audit_queries`), each one query at a time, and every
answer is checked. A child process, so that the readers' CPU is not the benchmark's (delivery's):
they load the service from outside, as the platform's services would.

Run as `python -m bench.audit_readers URL READERS PLAN` (PLAN: a JSON file, correlation id → its
event types, of every event the load will write). It prints `ready` once its client is
connected; then reads stdin, a line each: `go` starts the readers, `acked ID` says delivery has
had every event of correlation ID acknowledged, `stop` (or the end of input) ends them; it then
prints one JSON line, the summary (`Tally.summary`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.audit_queries import Defect, Problem, QueryKind, QueryPlan, ReaderQuery, answer_problems
from bench.stats import percentile
from kubernaut_wfe.datastorage.client import AuditApiError, DataStorageClient
from kubernaut_wfe_tools.processes import stop_process

SAMPLES = 10
"""Problems kept verbatim in the summary (the rest are counted)."""
FAILURE_PAUSE = 0.1
"""Seconds a reader waits after a failed query, so that a service gone away is not hammered."""
TIMEOUT = 120.0
Correlation = tuple[str, frozenset[str]]


class Correlations:
    """The correlations of the load, those still being written and those acknowledged."""

    def __init__(self, types: dict[str, frozenset[str]], rng: random.Random) -> None:
        self._types = types
        self._rng = rng
        self._in_flight = list(types)
        self._acknowledged: list[str] = []
        self._acknowledged_set: set[str] = set()

    def acknowledge(self, correlation: str) -> None:
        """Every event of `correlation` is acknowledged from now on."""
        if correlation in self._types and correlation not in self._acknowledged_set:
            self._acknowledged_set.add(correlation)
            self._acknowledged.append(correlation)

    def pick_acknowledged(self) -> Correlation | None:
        """One acknowledged correlation at random with its event types; None before the first."""
        if not self._acknowledged:
            return None
        correlation = self._rng.choice(self._acknowledged)
        return correlation, self._types[correlation]

    def pick_in_flight(self) -> Correlation | None:
        """One correlation not acknowledged yet at random; None when all are."""
        while self._in_flight:
            index = self._rng.randrange(len(self._in_flight))
            correlation = self._in_flight[index]
            if correlation not in self._acknowledged_set:
                return correlation, self._types[correlation]
            self._in_flight[index] = self._in_flight[-1]
            self._in_flight.pop()
        return None


@dataclass
class Tally:
    """Every query's latency by kind, failures, and the answers found wrong."""

    latencies: dict[QueryKind, list[float]] = field(default_factory=dict)
    failed: int = 0
    bad_answers: int = 0
    defects: Counter[Defect] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)

    def answered(self, query: ReaderQuery, seconds: float, problems: list[Problem]) -> None:
        """Note one answer, its latency and what is wrong with it."""
        self.latencies.setdefault(query.kind, []).append(seconds)
        if problems:
            self.bad_answers += 1
            self.defects.update(problem.defect for problem in problems)
            self._sample(f"{query.kind}: " + "; ".join(problem.detail for problem in problems))

    def failure(self, query: ReaderQuery, error: Exception) -> None:
        """Note a query that got no answer (or an unreadable one: not the spec's schema)."""
        self.failed += 1
        self._sample(f"{query.kind}: failed: {error}")

    def _sample(self, text: str) -> None:
        if len(self.samples) < SAMPLES:
            self.samples.append(text[:500])

    def summary(self, readers: int, seconds: float) -> dict[str, Any]:
        """The figures of one run: queries per second, latency percentiles (overall and per
        kind), failed queries and wrong answers (with samples)."""
        every = [latency for kind in self.latencies.values() for latency in kind]
        return {
            "readers": readers,
            "seconds": seconds,
            "queries": len(every),
            "queries_per_s": len(every) / seconds if seconds > 0 else 0.0,
            "p50_seconds": percentile(every, 0.5),
            "p99_seconds": percentile(every, 0.99),
            "failed": self.failed,
            "bad_answers": self.bad_answers,
            "defects": {defect.value: self.defects[defect] for defect in Defect},
            "by_kind": {
                kind.value: {
                    "queries": len(latencies),
                    "p50_seconds": percentile(latencies, 0.5),
                    "p99_seconds": percentile(latencies, 0.99),
                }
                for kind, latencies in self.latencies.items()
            },
            "samples": self.samples,
        }


async def read_until(
    stop: asyncio.Event,
    plan: QueryPlan,
    client: DataStorageClient,
    correlations: Correlations,
    tally: Tally,
) -> None:
    """One reader: a query at a time until `stop`, each answer checked."""
    while not stop.is_set():
        # what was acknowledged is picked before the query leaves: it must all be visible
        query = plan.next_query(correlations.pick_acknowledged(), correlations.pick_in_flight())
        began = time.perf_counter()
        try:
            answer = await client.query_audit_events(
                correlation_id=query.correlation_id,
                event_type=query.event_type,
                limit=query.limit,
                offset=query.offset,
            )
        except AuditApiError as error:
            tally.failure(query, error)
            await asyncio.sleep(FAILURE_PAUSE)
            continue
        tally.answered(query, time.perf_counter() - began, answer_problems(query, answer))


async def _stdin() -> asyncio.StreamReader:
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


async def run_readers(url: str, readers: int, plan: dict[str, list[str]]) -> dict[str, Any]:
    """The child process's work: wait for `go`, read until `stop`, return the summary."""
    types = {correlation: frozenset(kinds) for correlation, kinds in plan.items()}
    correlations = Correlations(types, random.Random(readers))  # noqa: S311 (picks, not secrets)
    event_types = tuple(sorted(set().union(*types.values())))
    commands = await _stdin()
    async with DataStorageClient(url, timeout=TIMEOUT) as client:
        await client.open()
        print("ready", flush=True)
        await commands.readline()  # go
        stop, tally, began = asyncio.Event(), Tally(), time.perf_counter()
        cpu_began = time.process_time()
        tasks = [
            asyncio.create_task(
                read_until(stop, QueryPlan(reader, event_types), client, correlations, tally)
            )
            for reader in range(readers)
        ]
        while (line := (await commands.readline()).decode().strip()) and line != "stop":
            word, _, correlation = line.partition(" ")
            if word == "acked":
                correlations.acknowledge(correlation)
        stop.set()
        await asyncio.gather(*tasks)
        summary = tally.summary(readers, time.perf_counter() - began)
        # the readers' own CPU, taken from the same two cores as the service's and delivery's
        return {**summary, "cpu_seconds": time.process_time() - cpu_began}


class ReadersProcess:
    """The benchmark's side of the readers' child process."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process

    def _send(self, line: str) -> None:
        assert self._process.stdin is not None
        self._process.stdin.write(f"{line}\n".encode())

    def go(self) -> None:
        """Start the readers."""
        self._send("go")

    def acknowledged(self, correlation: str) -> None:
        """Every event of `correlation` is acknowledged."""
        self._send(f"acked {correlation}")

    async def finish(self) -> dict[str, Any]:
        """Stop the readers; their summary."""
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._send("stop")
        await self._process.stdin.drain()
        line = await asyncio.wait_for(self._process.stdout.readline(), TIMEOUT)
        if not line:
            raise RuntimeError("the audit readers exited without a summary")
        summary: dict[str, Any] = json.loads(line)
        return summary


@contextlib.asynccontextmanager
async def readers_running(
    url: str, readers: int, plan: dict[str, list[str]], workdir: Path
) -> AsyncIterator[ReadersProcess]:
    """`readers` readers of `url` in a child process, connected and waiting for `go`."""
    plan_path = workdir / "audit-readers-plan.json"
    plan_path.write_text(json.dumps(plan), encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.audit_readers", url, str(readers), str(plan_path),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), TIMEOUT)
        if line.strip() != b"ready":
            raise RuntimeError(f"the audit readers did not start: {line!r}")
        yield ReadersProcess(process)
    finally:
        await stop_process(process, TIMEOUT)


def main(argv: list[str]) -> int:
    """`python -m bench.audit_readers URL READERS PLAN`."""
    url, readers, plan = argv[0], int(argv[1]), json.loads(Path(argv[2]).read_text("utf-8"))
    summary = asyncio.run(run_readers(url, readers, plan))
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
