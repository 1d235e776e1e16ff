"""aiohttp's "Error handling request" records of a client's fault become one warning line."""

from __future__ import annotations

import logging

from aiohttp.http_exceptions import BadStatusLine, ContentEncodingError, LineTooLong
from aiohttp.web_protocol import RequestPayloadError

from kubernaut_wfe.httplog import ClientFaultFilter, client_fault_message


def _record(error: BaseException) -> logging.LogRecord:
    """A record as aiohttp's server writes it (`logger.exception(...)` with the peer)."""
    return logging.LogRecord(
        "aiohttp.server", logging.ERROR, __file__, 1, "Error handling request from %s",
        ("10.0.0.7",), (type(error), error, None),
    )  # fmt: skip


def test_a_header_over_the_limit_is_one_warning_naming_the_peer_and_the_fix() -> None:
    record = _record(LineTooLong(b"aaaa", "8190"))
    assert ClientFaultFilter().filter(record)
    assert (record.levelno, record.levelname) == (logging.WARNING, "WARNING")
    assert record.exc_info is None
    message = record.getMessage()
    assert message.startswith("refused a malformed HTTP request from 10.0.0.7 (400): Got more than")
    assert message.endswith("the client must send a valid request with headers under 8 KiB")


def test_a_client_gone_mid_request_is_one_warning() -> None:
    record = _record(ConnectionResetError("Connection lost"))
    assert ClientFaultFilter().filter(record)
    assert record.levelno == logging.WARNING
    assert record.getMessage() == (
        "the client at 10.0.0.7 disconnected before its request was read whole; "
        "nothing of it was processed, it may send it again"
    )


def test_our_own_errors_keep_their_traceback() -> None:
    error = RuntimeError("a bug of ours")
    record = _record(error)
    assert ClientFaultFilter().filter(record)
    assert (record.levelno, record.exc_info) == (logging.ERROR, (RuntimeError, error, None))
    assert client_fault_message(error, "x") is None


def test_any_malformed_request_is_the_clients_fault() -> None:
    message = client_fault_message(BadStatusLine("GARBAGE"), "an unknown peer")
    assert message is not None
    assert message.startswith("refused a malformed HTTP request from an unknown peer (400): ")


def test_a_body_that_cannot_be_decoded_is_one_warning() -> None:
    error = RequestPayloadError("400, message:\n  Can not decode content-encoding: gzip")
    error.__cause__ = ContentEncodingError("Can not decode content-encoding: gzip")
    record = _record(error)
    assert ClientFaultFilter().filter(record)
    assert (record.levelno, record.exc_info) == (logging.WARNING, None)
    assert record.getMessage() == (
        "refused a request from 10.0.0.7 whose body cannot be read (400): Can not decode "
        "content-encoding: gzip; the client must send a body as its Content-Encoding says"
    )


def test_a_body_cut_short_for_another_reason_keeps_its_traceback() -> None:
    error = RequestPayloadError("Response payload is not completed")
    assert client_fault_message(error, "x") is None
