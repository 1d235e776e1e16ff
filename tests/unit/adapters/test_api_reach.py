"""What kept the first request from being answered (`adapters.api_reach.failure_of`), from the
errors aiohttp and the ssl module raise, each wrapped as aiohttp wraps it."""

from __future__ import annotations

import socket
import ssl

import aiohttp
import pytest

from kubernaut_wfe.adapters.api_reach import failure_of
from kubernaut_wfe.constants import ApiReachFailure

Failure = ApiReachFailure


def _wrapped(outer: BaseException, inner: BaseException) -> BaseException:
    outer.__cause__ = inner
    return outer


def _certificate_error(code: int, message: str) -> ssl.SSLCertVerificationError:
    error = ssl.SSLCertVerificationError(1, f"[SSL: CERTIFICATE_VERIFY_FAILED] {message}")
    error.verify_code = code
    error.verify_message = message
    return error


def _ssl_error(reason: str) -> ssl.SSLError:
    error = ssl.SSLError(1, f"[SSL: {reason}]")
    error.reason = reason
    return error


def _connector(inner: OSError) -> BaseException:
    return _wrapped(aiohttp.ClientConnectorError(None, inner), inner)  # type: ignore[arg-type]


def _certificate(inner: ssl.SSLCertVerificationError) -> BaseException:
    outer = aiohttp.ClientConnectorCertificateError(None, inner)  # type: ignore[arg-type]
    return _wrapped(outer, inner)


@pytest.mark.parametrize(
    ("error", "failure", "detail"),
    [
        (
            _connector(ConnectionRefusedError(111, "Connect call failed")),
            Failure.CONNECTION_REFUSED,
            "Connect call failed",
        ),
        (
            _connector(socket.gaierror(-2, "Name or service not known")),
            Failure.HOST_NOT_FOUND,
            "Name or service not known",
        ),
        (
            _wrapped(aiohttp.ConnectionTimeoutError("to host"), TimeoutError()),
            Failure.CONNECT_TIMEOUT,
            "no answer within the connect timeout",
        ),
        (
            _connector(ConnectionResetError(104, "Connection reset by peer")),
            Failure.CONNECTION_CLOSED,
            "Connection reset by peer",
        ),
        (aiohttp.ServerDisconnectedError(), Failure.CONNECTION_CLOSED, "Server disconnected"),
        (
            _connector(_ssl_error("UNEXPECTED_EOF_WHILE_READING")),
            Failure.CONNECTION_CLOSED,
            "closed during the TLS handshake",
        ),
        (
            _connector(_ssl_error("WRONG_VERSION_NUMBER")),
            Failure.NOT_TLS,
            "WRONG_VERSION_NUMBER",
        ),
        (
            _connector(_ssl_error("TLSV1_ALERT_PROTOCOL_VERSION")),
            Failure.TLS_HANDSHAKE_FAILED,
            "TLSV1_ALERT_PROTOCOL_VERSION",
        ),
        (
            _certificate(_certificate_error(20, "unable to get local issuer certificate")),
            Failure.CERTIFICATE_UNTRUSTED,
            "unable to get local issuer certificate",
        ),
        (
            _certificate(_certificate_error(62, "Hostname mismatch")),
            Failure.CERTIFICATE_NAME_MISMATCH,
            "Hostname mismatch",
        ),
        (
            _certificate(_certificate_error(64, "IP address mismatch")),
            Failure.CERTIFICATE_NAME_MISMATCH,
            "IP address mismatch",
        ),
        (
            _connector(OSError(113, "No route to host")),
            Failure.UNREACHABLE,
            "No route to host",
        ),
        (aiohttp.ClientPayloadError("cut"), Failure.UNREACHABLE, "ClientPayloadError: cut"),
    ],
)
def test_each_error_is_named_by_what_happened(
    error: BaseException, failure: ApiReachFailure, detail: str
) -> None:
    assert failure_of(error) == (failure, detail)
