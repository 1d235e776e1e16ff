"""`kubernaut-wfe audit-server` as a real process: announces its URL, persists, stops cleanly."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

EventFactory = Callable[..., dict[str, Any]]

_RUN_COMMAND = (
    "import argparse, sys\n"
    "from kubernaut_wfe.commands import audit_server as command\n"
    "parser = argparse.ArgumentParser()\n"
    "command.configure(parser)\n"
    "sys.exit(command.run(parser.parse_args(sys.argv[1:])))\n"
)


@asynccontextmanager
async def audit_server(
    cwd: Path, *args: str
) -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _RUN_COMMAND, "--listen", "127.0.0.1:0", *args,
        cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=30)).decode()
        assert line.startswith("audit service listening on http://127.0.0.1:"), line
        yield line.split()[4], process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), timeout=30)


def _current_event(make_event: EventFactory) -> dict[str, Any]:
    return make_event(event_timestamp=datetime.now(UTC).isoformat())


@pytest.mark.parametrize(
    ("arguments", "database_file"),
    [
        ([], "audit-events.db"),
        (["--database", "sqlite:///relative.db"], "relative.db"),
        (["--database", "sqlite:///{tmp}/absolute.db"], "absolute.db"),
    ],
    ids=["default", "relative", "absolute"],
)
async def test_sqlite_events_survive_a_restart(
    tmp_path: Path, make_event: EventFactory, arguments: list[str], database_file: str
) -> None:
    arguments = [argument.replace("{tmp}", str(tmp_path)) for argument in arguments]
    event = _current_event(make_event)

    for round_number in (1, 2):
        async with audit_server(tmp_path, *arguments) as (url, process):
            async with httpx.AsyncClient(base_url=url) as client:
                if round_number == 1:
                    created = await client.post("/api/v1/audit/events", json=event)
                    assert created.status_code == 201, created.text
                stored = (await client.get("/api/v1/audit/events")).json()["data"]
            process.send_signal(signal.SIGTERM if round_number == 1 else signal.SIGINT)
            assert await asyncio.wait_for(process.wait(), timeout=30) == 0
        assert [item["event_data"] for item in stored] == [event["event_data"]]
    assert (tmp_path / database_file).is_file()


async def test_postgresql_url_is_served(
    tmp_path: Path,
    postgres_server: str,
    new_postgres_database: Callable[[str], Awaitable[str]],
    make_event: EventFactory,
) -> None:
    database_url = await new_postgres_database(postgres_server)
    async with (
        audit_server(tmp_path, "--database", database_url) as (url, _),
        httpx.AsyncClient(base_url=url) as client,
    ):
        assert (await client.get("/health/ready")).status_code == 200
        created = await client.post("/api/v1/audit/events", json=_current_event(make_event))
        assert created.status_code == 201, created.text


async def test_unreachable_database_fails_at_start(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _RUN_COMMAND, "--listen", "127.0.0.1:0",
        "--database", "sqlite:////nonexistent-dir/audit.db",
        cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)

    assert process.returncode == 1
    assert b"cannot open SQLite database" in stderr


async def test_unsupported_url_is_refused(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _RUN_COMMAND, "--database", "mysql://db/audit",
        cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)

    assert process.returncode == 1
    assert b"unsupported database URL 'mysql://db/audit'" in stderr


async def _send_raw(url: str, request: bytes, *, abort: bool) -> bytes:
    """Send `request` as bytes; read the answer, or drop the connection at once with `abort`."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(request)
    await writer.drain()
    if abort:
        await asyncio.sleep(0.2)  # the service is reading the body by now
        writer.transport.abort()
        return b""
    answer = await reader.read()
    writer.close()
    return answer


async def test_client_faults_are_one_log_line_each(tmp_path: Path) -> None:
    oversized = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n"
    cut_short = (
        b"POST /api/v1/audit/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100000\r\n\r\n{"event_type"'
    )
    async with audit_server(tmp_path) as (url, process):
        answer = await _send_raw(url, oversized, abort=False)
        await _send_raw(url, cut_short, abort=True)
        async with httpx.AsyncClient(base_url=url) as client:
            assert (await client.get("/health")).status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.stderr is not None
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert answer.startswith((b"HTTP/1.0 400 ", b"HTTP/1.1 400 ")), answer
    log = stderr.decode()
    assert "Traceback" not in log, log
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    warnings = [line["event"] for line in lines if line.get("level") == "warning"]
    assert any(w.startswith("refused a malformed HTTP request from 127.0.0.1") for w in warnings)
    assert any("disconnected before its request was read whole" in w for w in warnings), log
