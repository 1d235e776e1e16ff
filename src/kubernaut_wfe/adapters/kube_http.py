"""One connection pool to one API server: requests, retries of transient failures, JSON replies."""

from __future__ import annotations

import json
import random
import ssl
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

import httpx
import structlog

from kubernaut_wfe import __version__
from kubernaut_wfe.adapters.kube_auth import BearerTokenAuth, build_ssl_context
from kubernaut_wfe.adapters.kube_errors import (
    ApiError,
    Transient,
    error_from_response,
    parse_retry_after,
)
from kubernaut_wfe.adapters.kubeconfig import KubeConfig
from kubernaut_wfe.adapters.retry import RetryPolicy, backoff_delays

logger = structlog.get_logger(__name__)

JsonObject = dict[str, Any]

USER_AGENT = f"kubernaut-wfe/{__version__}"
JSON = "application/json"

# Every request has a deadline, set here once. Without one, a request sent on a connection whose
# peer is gone (an API server restarted behind a load balancer that dropped the flow silently)
# waits forever, and so does the kopf handler awaiting it: the object is stuck until a restart.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
# Idle pooled connections are dropped before typical load-balancer idle timeouts (60 s and up),
# so that a request never goes out on a connection the network has already forgotten.
DEFAULT_LIMITS = httpx.Limits(max_connections=50, max_keepalive_connections=10, keepalive_expiry=30)

_RETRYABLE_TRANSPORT_ERRORS = (httpx.NetworkError, httpx.RemoteProtocolError)


def _caused_by_certificate_verification(error: BaseException) -> bool:
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


class ApiSession:
    """Sends requests to the API server and retries transient failures with jittered backoff.

    A POST that timed out may have been applied: its retry then meets 409 AlreadyExists, which
    callers treat as "someone created it" and re-read, as they must for any 409.
    """

    def __init__(
        self,
        config: KubeConfig,
        *,
        retry: RetryPolicy,
        timeout: httpx.Timeout,
        sleep: Callable[[float], Awaitable[None]],
        rng: random.Random,
        now: Callable[[], datetime],
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._retry = retry
        self._sleep = sleep
        self._rng = rng
        self._now = now
        auth = None
        if config.token or config.token_file:
            auth = BearerTokenAuth(token=config.token, token_file=config.token_file)
        tls_needed = transport is None and config.server.startswith("https://")
        self._http = httpx.AsyncClient(
            base_url=config.server,
            auth=auth,
            verify=build_ssl_context(config) if tls_needed else True,
            timeout=timeout,
            limits=DEFAULT_LIMITS,
            headers={"User-Agent": USER_AGENT, "Accept": JSON},
            transport=transport,
            # The API server is reached directly: proxy variables meant for other traffic must not
            # reroute it, and SSL_CERT_FILE must not replace the cluster's CA.
            trust_env=False,
        )

    async def close(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: object = None,
        content_type: str = JSON,
    ) -> JsonObject:
        """The JSON object the API answered, or ApiError (Transient once retries are spent)."""
        response = await self._send(method, path, params, body, content_type)
        try:
            parsed = response.json()
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            raise ApiError(
                response.status_code, "InvalidResponse", f"{method} {path}: not a JSON object"
            )
        return parsed

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        body: object,
        content_type: str,
    ) -> httpx.Response:
        content = None if body is None else json.dumps(body).encode("utf-8")
        headers = {} if content is None else {"Content-Type": content_type}
        delays = backoff_delays(self._retry, self._rng)
        attempt = 0
        while True:
            attempt += 1
            outcome = await self._attempt(method, path, params, content, headers)
            if isinstance(outcome, httpx.Response):
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
                method=method,
                path=path,
                status=outcome.status,
                reason=outcome.reason,
                attempt=attempt,
                delay=round(delay, 3),
            )
            await self._sleep(delay)

    async def _attempt(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        content: bytes | None,
        headers: Mapping[str, str],
    ) -> httpx.Response | ApiError:
        """The successful response, or the error it amounts to."""
        error: ApiError
        try:
            response = await self._http.request(
                method, path, params=params, content=content, headers=headers
            )
        except httpx.TimeoutException as exc:
            error = Transient(0, "Timeout", f"{method} {path}: {type(exc).__name__}")
            error.__cause__ = exc
            return error
        except _RETRYABLE_TRANSPORT_ERRORS as exc:
            text = f"{method} {path}: {type(exc).__name__}: {exc}"
            if _caused_by_certificate_verification(exc):
                # The server's certificate will not become trustworthy by asking again.
                error = ApiError(0, "CertificateVerificationFailed", text)
            else:
                error = Transient(0, "ConnectionError", text)
            error.__cause__ = exc
            return error
        if response.is_success:
            return response
        retry_after = parse_retry_after(response.headers.get("Retry-After"), self._now())
        return error_from_response(
            response.status_code, response.reason_phrase, response.content, retry_after=retry_after
        )
