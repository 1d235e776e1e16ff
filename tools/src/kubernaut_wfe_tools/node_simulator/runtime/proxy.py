"""`ServiceProxy`: kube-proxy in userspace for one Service IP:port, forwarding each TCP
connection byte for byte (TLS passes through untouched)."""

from __future__ import annotations

import asyncio
import contextlib
import socket

IP_FREEBIND = 15
"""Linux: bind an address no interface carries yet (the sandbox adds it later)."""
CHUNK = 65536


class ServiceProxy:
    """Listens on `listen` and forwards each connection to `upstream`."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self._server: asyncio.Server | None = None
        self._upstream = upstream
        self._connections: set[asyncio.Task[None]] = set()

    @classmethod
    async def start(cls, listen: tuple[str, int], upstream: tuple[str, int]) -> ServiceProxy:
        """Bind `listen` (even before any interface carries its address) and start serving."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)
            listener.bind(listen)
            listener.setblocking(False)
        except OSError:
            listener.close()
            raise
        proxy = cls(upstream)
        proxy._server = await asyncio.start_server(proxy._forward, sock=listener)
        return proxy

    @property
    def address(self) -> tuple[str, int]:
        """The address it listens on (the port the kernel chose when asked for port 0)."""
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return str(host), int(port)

    async def close(self) -> None:
        """Stop listening and cut the open connections."""
        if self._server is None:
            return
        self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()

    async def _forward(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            try:
                upstream_in, upstream_out = await asyncio.open_connection(*self._upstream)
            except OSError:
                client_out.close()
                return
            try:
                await asyncio.gather(_pump(client_in, upstream_out), _pump(upstream_in, client_out))
            finally:
                for writer in (client_out, upstream_out):
                    writer.close()
                    with contextlib.suppress(OSError, asyncio.CancelledError):
                        await writer.wait_closed()
        finally:
            self._connections.discard(task)


async def _pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    """Copy until end of stream, then half-close the other side's sending half."""
    try:
        while chunk := await source.read(CHUNK):
            sink.write(chunk)
            await sink.drain()
        if sink.can_write_eof():
            sink.write_eof()
    except OSError:
        sink.close()
