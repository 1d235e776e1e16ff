"""One log line, not a traceback, for what an HTTP client does wrong to our servers.

aiohttp's server logs a request it cannot parse (a header over its 8 KiB limit, a malformed
line), a body it cannot decode (gzip that is not gzip, met again when it drains the body after
the answer) and a client that disconnects while its body is read with a traceback at ERROR.
None is a fault of ours: the controller's probe and metrics ports and the audit service install
`quiet_client_faults()` so that each becomes one WARNING naming the peer, what it sent and what
to do. Any other error keeps its traceback.
"""

from __future__ import annotations

import logging

from aiohttp.http_exceptions import BadHttpMessage
from aiohttp.web_protocol import RequestPayloadError

SERVER_LOGGER = "aiohttp.server"
_PEER_MARK = " from "


def _peer(record: logging.LogRecord) -> str:
    message = record.getMessage()
    return message.rpartition(_PEER_MARK)[2] if _PEER_MARK in message else "an unknown peer"


def client_fault_message(error: BaseException, peer: str) -> str | None:
    """The one line for a client's fault, or None when `error` is not one."""
    if isinstance(error, BadHttpMessage):
        return (
            f"refused a malformed HTTP request from {peer} (400): {error.message.strip()}; "
            "the client must send a valid request with headers under 8 KiB"
        )
    if isinstance(error, RequestPayloadError) and isinstance(error.__cause__, BadHttpMessage):
        return (
            f"refused a request from {peer} whose body cannot be read (400): "
            f"{error.__cause__.message.strip()}; the client must send a body as its "
            "Content-Encoding says"
        )
    if isinstance(error, ConnectionResetError):
        return (
            f"the client at {peer} disconnected before its request was read whole; "
            "nothing of it was processed, it may send it again"
        )
    return None


class ClientFaultFilter(logging.Filter):
    """Rewrites aiohttp's "Error handling request" record of a client's fault into one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        message = client_fault_message(error, _peer(record)) if error is not None else None
        if message is not None:
            record.msg, record.args = message, ()
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def quiet_client_faults() -> None:
    """Install the filter on aiohttp's server logger (idempotent)."""
    logger = logging.getLogger(SERVER_LOGGER)
    if not any(isinstance(existing, ClientFaultFilter) for existing in logger.filters):
        logger.addFilter(ClientFaultFilter())
