"""Just enough HTTP/1.1 for the hostile DataStorage front, spoken by hand so that it can answer
the ways no HTTP server library would: a body that drips, a connection reset in the middle of a
body, headers that promise more than comes. Keep-alive, Content-Length bodies (what httpx sends).
"""

from __future__ import annotations

import asyncio
import socket
import struct
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import urlsplit

from kubernaut_wfe.datastorage.client import BATCH_PATH, EVENTS_PATH
from kubernaut_wfe_tools.testing.datastorage_corpus import Route

DRIP_LIMIT = 300
"""Seconds a drip goes on at most when the client never hangs up."""


@dataclass
class Request:
    """One request as read off the connection."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def route(self) -> Route | None:
        """The DataStorage route the request is for, if it is one a case answers."""
        split = urlsplit(self.target)
        if self.method == "POST" and split.path == BATCH_PATH:
            return Route.BATCH
        if self.method == "GET" and split.path == EVENTS_PATH:
            return Route.QUERY
        return None


@dataclass(frozen=True)
class Response:
    """An answer to write: the status, the body, and the headers besides the two always sent."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()

    def head(self, length: int | None = None) -> bytes:
        """The status line and headers; `length` claims another Content-Length than the body's."""
        lines = [
            f"HTTP/1.1 {self.status} {phrase(self.status)}",
            f"Content-Type: {self.content_type}",
            f"Content-Length: {len(self.body) if length is None else length}",
            *(f"{name}: {value}" for name, value in self.headers),
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def read_request(reader: asyncio.StreamReader) -> Request | None:
    """The next request of the connection, or None once the client closed it."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, target, _ = request_line.split(" ", 2)
    headers = {}
    for line in header_lines:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return Request(method, target, headers, body)


async def write_response(writer: asyncio.StreamWriter, response: Response) -> None:
    """Write the whole answer; the connection stays open for the next request."""
    writer.write(response.head() + response.body)
    await writer.drain()


async def drip(writer: asyncio.StreamWriter, response: Response) -> None:
    """The headers promise a long body; then one byte a second until the client hangs up."""
    writer.write(response.head(length=1_000_000))
    await writer.drain()
    for second in range(DRIP_LIMIT):
        if writer.is_closing():
            return
        writer.write(response.body[second % len(response.body) :][:1] or b" ")
        await writer.drain()
        await asyncio.sleep(1)


def reset(writer: asyncio.StreamWriter) -> None:
    """Abort the connection with a TCP RST (linger 0), as a crashed peer does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def phrase(status: int) -> str:
    """The reason phrase of `status` ("Unknown" for a status HTTP does not name)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"
