"""The first request of a start, asked until the API server answers as one (`core.api_reach`
judges each failure): what may pass is asked again with back-off, one log line per try naming
the server, and `problem` says why for `/readyz`; what cannot pass raises `ApiServerUnusableError`,
whose one-line message names the setting at fault, the server and the cause."""

from __future__ import annotations

import asyncio
import json
import random
import socket
import ssl
from collections.abc import Awaitable, Callable

import aiohttp
import structlog

from kubernaut_wfe.adapters.kube import KubeClient
from kubernaut_wfe.adapters.kubeconfig import SettingNames
from kubernaut_wfe.constants import API_ROOT_PATH, ApiReachFailure, ConnectionSetting
from kubernaut_wfe.core.api_reach import (
    answer_failure,
    reach_message,
    reach_retry_delay,
    reach_verdict,
)

logger = structlog.get_logger(__name__)

Failure = ApiReachFailure
_NAME_MISMATCH_CODES = frozenset({62, 64})
"""OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH and X509_V_ERR_IP_ADDRESS_MISMATCH."""
_CLOSED = (
    ConnectionResetError,
    ConnectionAbortedError,
    BrokenPipeError,
    aiohttp.ServerDisconnectedError,
)
MAX_DETAIL = 200


class ApiServerUnusableError(Exception):
    """The API server cannot be used as configured, whatever the wait; the message says which
    setting, where it was read, the server and why."""


def _chain(error: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    cause: BaseException | None = error
    while cause is not None and cause not in found:
        found.append(cause)
        certificate = getattr(cause, "certificate_error", None)
        if isinstance(certificate, BaseException):
            found.append(certificate)
        cause = cause.__cause__ or cause.__context__
    return found


def _from_ssl(error: ssl.SSLError) -> bool:
    # aiohttp's TLS errors are ssl errors too, without the ssl module's details: those are in
    # the error each one wraps, later in the chain.
    return not isinstance(error, aiohttp.ClientError)


def failure_of(error: BaseException) -> tuple[ApiReachFailure, str]:
    """What kept a request from being answered, and its detail in words."""
    chain = _chain(error)
    for cause in chain:
        if isinstance(cause, ssl.SSLCertVerificationError) and _from_ssl(cause):
            name_mismatch = cause.verify_code in _NAME_MISMATCH_CODES
            failure = (
                Failure.CERTIFICATE_NAME_MISMATCH
                if name_mismatch
                else Failure.CERTIFICATE_UNTRUSTED
            )
            return failure, str(cause.verify_message or cause)
    for cause in chain:
        if isinstance(cause, socket.gaierror):
            return Failure.HOST_NOT_FOUND, str(cause.strerror or cause)
        if isinstance(cause, TimeoutError):
            return Failure.CONNECT_TIMEOUT, "no answer within the connect timeout"
        if isinstance(cause, ConnectionRefusedError):
            return Failure.CONNECTION_REFUSED, str(cause.strerror or cause)
        if isinstance(cause, _CLOSED):
            return Failure.CONNECTION_CLOSED, str(getattr(cause, "strerror", None) or cause)
        if isinstance(cause, ssl.SSLError) and _from_ssl(cause):
            if cause.reason == "WRONG_VERSION_NUMBER":
                return Failure.NOT_TLS, str(cause.reason)
            if isinstance(cause, ssl.SSLEOFError) or cause.reason == "UNEXPECTED_EOF_WHILE_READING":
                return Failure.CONNECTION_CLOSED, "closed during the TLS handshake"
            return Failure.TLS_HANDSHAKE_FAILED, str(cause.reason or cause)
    for cause in chain:
        if isinstance(cause, OSError) and cause.strerror:
            return Failure.UNREACHABLE, cause.strerror
    return Failure.UNREACHABLE, f"{type(error).__name__}: {error}"


def _setting_name(names: SettingNames, setting: ConnectionSetting) -> str:
    return {
        ConnectionSetting.SERVER: names.server,
        ConnectionSetting.CERTIFICATE_AUTHORITY: names.certificate_authority,
        ConnectionSetting.CREDENTIALS: names.credentials,
    }[setting]


def _shown(detail: str) -> str:
    words = " ".join(detail.split())
    return words if len(words) <= MAX_DETAIL else words[: MAX_DETAIL - 3] + "..."


class ApiReach:
    """Asks `GET /api` until a Kubernetes API server answers it (see the module)."""

    def __init__(
        self,
        kube: KubeClient,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._kube = kube
        self._names = kube.connection.config.names
        self._server = kube.connection.server
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self.problem: str | None = None
        """Why the API server has not answered yet (None once it has, or before the first try)."""

    async def _try(self) -> tuple[ApiReachFailure, str] | None:
        try:
            answer = await self._kube.answer_once(API_ROOT_PATH)
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            return failure_of(error)
        try:
            document = json.loads(answer.content)
        except ValueError:
            document = None
        failure = answer_failure(answer.status, document)
        if failure is None:
            return None
        body = answer.content[:MAX_DETAIL].decode("utf-8", errors="replace")
        return failure, f"GET {API_ROOT_PATH}: {answer.status} {answer.reason}: {body}"

    async def wait(self) -> None:
        """Return once the API server answers; ApiServerUnusableError when it never will."""
        failed = 0
        while (outcome := await self._try()) is not None:
            failure, detail = outcome
            verdict = reach_verdict(failure)
            setting = _setting_name(self._names, verdict.setting)
            message = reach_message(
                verdict, setting=setting, server=self._server, detail=_shown(detail)
            )
            if not verdict.retry:
                raise ApiServerUnusableError(message)
            failed += 1
            delay = reach_retry_delay(failed, self._rng.random())
            self.problem = f"{message}; trying again in {delay:.0f}s"
            logger.warning(
                "the Kubernetes API server cannot be reached; trying again",
                server=self._server,
                setting=setting,
                reason=str(failure),
                error=_shown(detail),
                attempt=failed,
                delay=round(delay, 1),
            )
            await self._sleep(delay)
        if failed:
            logger.info(
                "the Kubernetes API server answers", server=self._server, attempts=failed + 1
            )
        self.problem = None
