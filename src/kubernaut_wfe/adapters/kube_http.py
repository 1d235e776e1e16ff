"""One connection pool to one API server (aiohttp): requests, retries of transient failures,
JSON replies, and streamed answers (watches)."""

from __future__ import annotations

import contextlib
import json
import random
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
import structlog

from kubernaut_wfe import __version__
from kubernaut_wfe.adapters.kube_connection import BEARER, CredentialsError, KubeConnection
from kubernaut_wfe.adapters.kube_errors import (
    ApiError,
    Transient,
    error_from_response,
    parse_retry_after,
)
from kubernaut_wfe.adapters.permissions import (
    PermissionLedger,
    is_rbac_refusal,
    permission_of,
)
from kubernaut_wfe.adapters.retry import RetryPolicy, backoff_delays

logger = structlog.get_logger(__name__)

JsonObject = dict[str, Any]

USER_AGENT = f"kubernaut-wfe/{__version__}"
JSON = "application/json"
UNAUTHORIZED = 401

# Every request has a deadline, set here once. Without one, a request sent on a connection whose
# peer is gone (an API server restarted behind a load balancer that dropped the flow silently)
# waits forever, and so does the reconcile awaiting it: the object is stuck until a restart.
DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=30.0, connect=10.0)
MAX_CONNECTIONS = 50
# Idle pooled connections are dropped before typical load-balancer idle timeouts (60 s and up),
# so that a request never goes out on a connection the network has already forgotten.
KEEPALIVE_SECONDS = 30.0


@dataclass(frozen=True)
class Answer:
    """A response read in full: status, reason phrase, headers that matter, body."""

    status: int
    reason: str
    retry_after: str | None
    content: bytes


@dataclass(frozen=True)
class Outgoing:
    """One request as it is sent (and sent again on a retry)."""

    method: str
    path: str
    params: Mapping[str, str] | None
    content: bytes | None
    headers: dict[str, str]

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _caused_by_certificate_verification(error: BaseException) -> bool:
    if isinstance(error, aiohttp.ClientConnectorCertificateError):
        return True
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


_NO_ANSWER = (TimeoutError, aiohttp.ClientError, CredentialsError)
"""What a request fails with when no answer (or only part of one) arrives."""


def _failure(request: Outgoing, exc: BaseException) -> ApiError:
    """The ApiError a request that got no answer amounts to (Transient unless asking again
    cannot help)."""
    error: ApiError
    if isinstance(exc, TimeoutError):
        error = Transient(0, "Timeout", f"{request}: {type(exc).__name__}")
    elif isinstance(exc, CredentialsError):
        error = Transient(0, "CredentialsUnavailable", f"{request}: {exc}")
    elif _caused_by_certificate_verification(exc):
        # The server's certificate will not become trustworthy by asking again.
        error = ApiError(
            0, "CertificateVerificationFailed", f"{request}: {type(exc).__name__}: {exc}"
        )
    else:
        error = Transient(0, "ConnectionError", f"{request}: {type(exc).__name__}: {exc}")
    error.__cause__ = exc
    return error


async def _lines(request: Outgoing, content: aiohttp.StreamReader) -> AsyncIterator[bytes]:
    """The non-empty lines of a streamed answer as they arrive (split here: aiohttp's own
    line reader refuses lines longer than its buffer, and a watch event can be)."""
    pending = b""
    try:
        async for chunk in content.iter_any():
            *complete, pending = (pending + chunk).split(b"\n")
            for line in complete:
                if line.strip():
                    yield line
    except _NO_ANSWER as exc:
        raise _failure(request, exc) from exc
    if pending.strip():
        yield pending


class ApiSession:
    """Sends requests to the API server and retries transient failures with jittered backoff.

    A POST that timed out may have been applied: its retry then meets 409 AlreadyExists, which
    callers treat as "someone created it" and re-read, as they must for any 409. The aiohttp
    session is opened on the first request (it belongs to the running event loop).
    """

    def __init__(
        self,
        connection: KubeConnection,
        *,
        retry: RetryPolicy,
        timeout: aiohttp.ClientTimeout,
        sleep: Callable[[float], Awaitable[None]],
        rng: random.Random,
        now: Callable[[], datetime],
    ) -> None:
        self._retry = retry
        self._sleep = sleep
        self._rng = rng
        self._now = now
        self._timeout = timeout
        self._base = connection.server
        self._token = connection.token
        self._ssl = connection.tls
        self._http: aiohttp.ClientSession | None = None
        self._closed = False
        self.permissions = PermissionLedger()
        """Permissions the API server refused and that have not worked since."""

    def _session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("the Kubernetes API client has been closed")
        if self._http is None:
            connector = aiohttp.TCPConnector(
                limit=MAX_CONNECTIONS,
                keepalive_timeout=KEEPALIVE_SECONDS,
                ssl=self._ssl if self._ssl is not None else True,
            )
            self._http = aiohttp.ClientSession(
                connector=connector,
                timeout=self._timeout,
                headers={"User-Agent": USER_AGENT, "Accept": JSON},
                # The API server is reached directly: proxy variables meant for other traffic
                # must not reroute it.
                trust_env=False,
                auto_decompress=True,
            )
        return self._http

    async def close(self) -> None:
        """Close the connection pool; later requests raise RuntimeError."""
        self._closed = True
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: object = None,
        content_type: str = JSON,
        track_permission: bool = True,
    ) -> JsonObject:
        """The JSON object the API answered, or ApiError (Transient once retries are spent).

        An RBAC refusal is recorded in `permissions` (unless `track_permission` is off), and a
        success clears it."""
        content = None if body is None else json.dumps(body).encode("utf-8")
        headers = {} if content is None else {"Content-Type": content_type}
        request = Outgoing(method, path, params, content, headers)
        try:
            answer = await self._send(request)
        except ApiError as error:
            if track_permission:
                self._note_refusal(request, error)
            raise
        if track_permission:
            self._note_success(request)
        try:
            parsed = json.loads(answer.content)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise ApiError(answer.status, "InvalidResponse", f"{method} {path}: not a JSON object")
        return parsed

    @contextlib.asynccontextmanager
    async def stream(
        self, path: str, params: Mapping[str, str], *, read_timeout: float
    ) -> AsyncIterator[AsyncIterator[bytes]]:
        """A GET whose answer is read as it arrives (a watch): entered once the API server has
        answered 2xx, then the answer's lines until it ends; a line must come within
        `read_timeout` seconds. Any failure is ApiError, never retried here (a watch is opened
        again by its caller); an RBAC refusal is recorded as `request` records it."""
        request = Outgoing("GET", path, params, None, {})
        timeout = aiohttp.ClientTimeout(connect=self._timeout.connect, sock_read=read_timeout)
        try:
            response = await self._respond(request, timeout)
        except _NO_ANSWER as exc:
            raise _failure(request, exc) from exc
        try:
            if not 200 <= response.status < 300:
                try:
                    body = await response.read()
                except _NO_ANSWER as exc:
                    raise _failure(request, exc) from exc
                error = error_from_response(response.status, response.reason or "", body)
                self._note_refusal(request, error)
                raise error
            self._note_success(request)
            yield _lines(request, response.content)
        finally:
            response.close()

    async def answer_once(self, path: str) -> Answer:
        """One GET, never retried, its answer whatever the status; what kept it from answering
        is raised as it came (aiohttp's and the ssl module's errors), for the caller to judge."""
        return await self._exchange(Outgoing("GET", path, None, None, {}))

    def _note_refusal(self, request: Outgoing, error: ApiError) -> None:
        if not is_rbac_refusal(error.status, error.message):
            return
        permission = permission_of(request.method, request.path, request.params)
        if permission is not None and self.permissions.denied(permission, error.message):
            logger.error(
                "missing permission: the controller's role must grant it",
                permission=str(permission),
                message=error.message,
            )

    def _note_success(self, request: Outgoing) -> None:
        # Only while a refusal is on record is a success worth mapping to its permission.
        if not self.permissions:
            return
        permission = permission_of(request.method, request.path, request.params)
        if permission is not None and self.permissions.granted(permission):
            logger.info("permission granted again", permission=str(permission))

    async def _send(self, request: Outgoing) -> Answer:
        delays = backoff_delays(self._retry, self._rng)
        attempt = 0
        while True:
            attempt += 1
            outcome = await self._attempt(request)
            if isinstance(outcome, Answer):
                return outcome
            if not isinstance(outcome, Transient):
                raise outcome
            delay = next(delays, None)
            if delay is None:
                raise outcome
            if outcome.retry_after is not None:
                delay = min(max(delay, outcome.retry_after), self._retry.max_delay)
            logger.info(
                "kubernetes request will be retried",
                method=request.method,
                path=request.path,
                status=outcome.status,
                reason=outcome.reason,
                attempt=attempt,
                delay=round(delay, 3),
            )
            await self._sleep(delay)

    async def _attempt(self, request: Outgoing) -> Answer | ApiError:
        """The successful answer, or the error it amounts to."""
        try:
            answer = await self._exchange(request)
        except _NO_ANSWER as exc:
            return _failure(request, exc)
        if 200 <= answer.status < 300:
            return answer
        retry_after = parse_retry_after(answer.retry_after, self._now())
        return error_from_response(
            answer.status, answer.reason, answer.content, retry_after=retry_after
        )

    async def _exchange(self, request: Outgoing) -> Answer:
        """One request, its answer read in full."""
        async with await self._respond(request, self._timeout) as response:
            body = await response.read()
            return Answer(
                response.status, response.reason or "", response.headers.get("Retry-After"), body
            )

    async def _respond(
        self, request: Outgoing, limits: aiohttp.ClientTimeout
    ) -> aiohttp.ClientResponse:
        """The response, its body not read yet; after a 401, one more try with the token file
        read again, if that gives another token."""
        token = await self._token.current() if self._token is not None else None
        response = await self._once(request, token, limits)
        if response.status == UNAUTHORIZED and self._token is not None and self._token.rereads:
            try:
                fresh = await self._token.current(fresh=True)
            except CredentialsError:
                response.release()
                raise
            if fresh != token:
                response.release()
                response = await self._once(request, fresh, limits)
        return response

    async def _once(
        self, request: Outgoing, token: str | None, limits: aiohttp.ClientTimeout
    ) -> aiohttp.ClientResponse:
        headers = request.headers
        sent = headers if token is None else {**headers, "Authorization": f"{BEARER} {token}"}
        return await self._session().request(
            request.method,
            self._base + request.path,
            params=request.params,
            data=request.content,
            headers=sent,
            timeout=limits,
        )
