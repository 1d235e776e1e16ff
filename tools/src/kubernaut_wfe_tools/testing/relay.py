"""A TCP relay: every connection to its address goes on, byte for byte, to a target. A server
seen at another address (TLS passes through unchanged), or one that appears later."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while chunk := await source.read(65536):
            sink.write(chunk)
            await sink.drain()
    sink.close()


@contextlib.asynccontextmanager
async def tcp_relay(target_url: str, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Relay `host:port` (a free port when 0) to the host and port of `target_url`; yields the
    target's URL with the relay's address in it."""
    target = urlsplit(target_url)
    if target.hostname is None or target.port is None:
        raise ValueError(f"{target_url} names no host and port")
    target_host, target_port = target.hostname, target.port

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                target_host, target_port
            )
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))

    server = await asyncio.start_server(handle, host, port)
    async with server:
        bound = server.sockets[0].getsockname()[1]
        yield f"{target.scheme}://{host}:{bound}"
