"""The audit service as its own process on a port fixed before it starts, and a TCP front proxy
that can hold, drop or cut the controller's batch POSTs (to land a kill while a batch is in
flight)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from kubernaut_wfe_tools.processes import AuditServerProcess

BATCH_REQUEST_LINE = b"POST /api/v1/audit/events/batch "
READY_TIMEOUT = 60.0


class AuditServiceProcess(AuditServerProcess):
    """`kubernaut-wfe audit-server` on a fixed port, started and killed by the test."""

    def __init__(self, port: int, database: str, log_path: Path) -> None:
        super().__init__(["--listen", f"127.0.0.1:{port}", "--database", database], log_path)
        self.url = f"http://127.0.0.1:{port}"

    async def start(self) -> None:
        """Start it and wait until `/health/ready` answers 200."""
        await super().start()
        await self.wait_ready(f"{self.url}/health/ready", READY_TIMEOUT)

    async def kill(self) -> None:
        """SIGKILL, no goodbye."""
        await self.stop(signal.SIGKILL)


Forward = Callable[[bytes], Awaitable[None]]
BatchHook = Callable[[bytes, Forward], Awaitable[None]]
"""Gets the whole batch request and a function that sends bytes of it to the backend."""


@dataclass
class FrontProxy:
    """Forwards HTTP/1.1 requests byte for byte from `port` to `backend_port`.

    `intercept_batch`, if set, takes over the first batch POST: it forwards what it likes of the
    request (the test then kills the backend); whatever the backend answered is never relayed,
    the controller's connection is cut as if the service had died mid-request. `hold_batches`
    keeps every
    batch POST from reaching the backend until `release_batches(forward=...)`; not forwarded, the
    controller's connection is cut, so it cannot tell whether the batch was stored.
    """

    port: int
    backend_port: int
    intercept_batch: BatchHook | None = None
    hold_batches: bool = False
    hold_matching: bytes = b""
    """Only batches containing these bytes are held (all when empty)."""
    batches_seen: int = 0
    _gate: asyncio.Future[bool] | None = None
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    held: asyncio.Event = field(default_factory=asyncio.Event)

    async def __aenter__(self) -> FrontProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        self.release_batches(forward=False)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    def release_batches(self, *, forward: bool) -> None:
        """Let held batches through (`forward`) or cut them off unsent."""
        self.hold_batches = False
        if self._gate is not None and not self._gate.done():
            self._gate.set_result(forward)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        backend: asyncio.StreamWriter | None = None
        relay: asyncio.Task[None] | None = None
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    return
                is_batch = request.startswith(BATCH_REQUEST_LINE)
                if is_batch:
                    self.batches_seen += 1
                    held = self.hold_batches and self.hold_matching in request
                    if held and not await self._wait_at_gate():
                        return
                if backend is None:
                    try:
                        backend_reader, backend = await asyncio.open_connection(
                            "127.0.0.1", self.backend_port
                        )
                    except OSError:
                        return  # backend down: the controller sees its connection cut
                    relay = asyncio.create_task(_pipe(backend_reader, writer))
                if is_batch and self.intercept_batch is not None:
                    hook, self.intercept_batch = self.intercept_batch, None
                    assert relay is not None
                    relay.cancel()  # idle: the client waits for each response before sending
                    await hook(request, _sender(backend))
                    return
                backend.write(request)
                await backend.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            if backend is not None:
                backend.close()
            if relay is not None:
                relay.cancel()
                await asyncio.gather(relay, return_exceptions=True)
            writer.close()
            self._tasks.discard(task)

    async def _wait_at_gate(self) -> bool:
        if self._gate is None or self._gate.done():
            self._gate = asyncio.get_running_loop().create_future()
        self.held.set()
        return await asyncio.shield(self._gate)


def _sender(backend: asyncio.StreamWriter) -> Forward:
    async def send(data: bytes) -> None:
        backend.write(data)
        await backend.drain()

    return send


async def _read_request(reader: asyncio.StreamReader) -> bytes | None:
    """One whole request (head and Content-Length body), or None at EOF between requests."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as error:
        if error.partial:
            raise
        return None
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    body = await reader.readexactly(length) if length else b""
    return head + body


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy responses until the backend closes; then close the client's connection too."""
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()
