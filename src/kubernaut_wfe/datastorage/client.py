"""Async client of the DataStorage audit API with typed results and typed failures.

Failures are classified by what they mean for a retry:
- `AuditRejected`: the server refused the request for its content (400 and other permanent 4xx);
  sending it again gives the same answer.
- `AuditUnavailable`: the request was certainly not processed (connection refused, connect timeout,
  429, 5xx from the service itself, 401/403/404/408 configuration or auth trouble); retry later.
- `AuditAmbiguous`: the request may or may not have been processed (timeout or reset after it was
  sent, no complete answer within the timeout, 502/504 from a proxy, a success status with an
  unreadable body or one that does not account for every event sent); ask the query API first.

A redirect is not followed (it would carry the token elsewhere): it is `AuditUnavailable`, naming
where it points, so the URL can be fixed while events wait.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Sequence
from datetime import datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Final, Self, TypeVar

import httpx
import pydantic

from kubernaut_wfe.datastorage.events import serialize_audit_event
from kubernaut_wfe.datastorage.models import (
    AuditEventRequest,
    AuditEventsQueryResponse,
    BatchAuditEventResponse,
    EventOutcome,
    RFC7807Problem,
)

BATCH_PATH: Final = "/api/v1/audit/events/batch"
EVENTS_PATH: Final = "/api/v1/audit/events"

# Statuses that say nothing about the event itself: the service, a proxy or our credentials are
# the problem, so the event must be retried rather than rejected.
_RETRYABLE_CLIENT_STATUSES: Final = frozenset({401, 403, 404, 408, 429})
# A proxy's gateway errors: the upstream may have processed the request before the answer was lost.
_AMBIGUOUS_SERVER_STATUSES: Final = frozenset({502, 504})

_Parsed = TypeVar("_Parsed", bound=pydantic.BaseModel)

TokenProvider = Callable[[], str | None]
VerifySource = bool | ssl.SSLContext | Callable[[], ssl.SSLContext]


class AuditApiError(Exception):
    """A DataStorage request that did not succeed."""


class AuditRejected(AuditApiError):  # noqa: N818 (the name says the outcome)
    """The server refused the request for its content (permanent)."""

    def __init__(self, problem: RFC7807Problem) -> None:
        super().__init__(f"{problem.status} {problem.title}: {problem.detail or ''}".rstrip(": "))
        self.problem = problem

    @property
    def detail(self) -> str:
        """The server's explanation (its `detail`, else its `title`)."""
        return self.problem.detail or self.problem.title


class AuditUnavailable(AuditApiError):  # noqa: N818 (the name says the outcome)
    """The request was not processed; retry later (honouring `retry_after` when set)."""

    def __init__(
        self, reason: str, *, status_code: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(reason)
        self.status_code = status_code
        self.retry_after = retry_after


class AuditAmbiguous(AuditApiError):  # noqa: N818 (the name says the outcome)
    """The request may have been processed; query before sending it again."""


class DataStorageClient:
    """The audit endpoints of DataStorage over one pooled httpx connection set.

    `token_provider` is called for every request (use `FileToken` for a rotating token file);
    `verify` may be a callable such as `CaBundle`, whose new context replaces the connection pool
    when the CA file changes.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        token_provider: TokenProvider | None = None,
        verify: VerifySource = True,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._token_provider = token_provider
        self._verify_source = verify
        self._transport = transport
        self._verify: bool | ssl.SSLContext | None = None
        self._http: httpx.AsyncClient | None = None
        self._retired: list[httpx.AsyncClient] = []

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every connection."""
        clients = [*self._retired, *([self._http] if self._http is not None else [])]
        self._retired.clear()
        self._http = None
        for client in clients:
            await client.aclose()

    async def create_audit_events_batch(
        self, events: Sequence[AuditEventRequest]
    ) -> BatchAuditEventResponse:
        """POST a batch (all or nothing); 201 gives the new event ids in request order."""
        body = [serialize_audit_event(event) for event in events]
        response = await self._send("POST", BATCH_PATH, json=body)
        created = _parse_success(response, BatchAuditEventResponse)
        if (problem := batch_answer_problem(len(events), created)) is not None:
            raise AuditAmbiguous(f"POST {BATCH_PATH}: {response.status_code} {problem}")
        return created

    async def query_audit_events(
        self,
        *,
        event_type: str | None = None,
        event_category: str | None = None,
        event_outcome: EventOutcome | None = None,
        severity: str | None = None,
        correlation_id: str | None = None,
        since: str | datetime | None = None,
        until: str | datetime | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> AuditEventsQueryResponse:
        """GET stored events matching every given filter, newest first, one page."""
        filters: dict[str, Any] = {
            "event_type": event_type,
            "event_category": event_category,
            "event_outcome": event_outcome,
            "severity": severity,
            "correlation_id": correlation_id,
            "since": since.isoformat() if isinstance(since, datetime) else since,
            "until": until.isoformat() if isinstance(until, datetime) else until,
            "limit": limit,
            "offset": offset,
        }
        params = {name: str(value) for name, value in filters.items() if value is not None}
        response = await self._send("GET", EVENTS_PATH, params=params)
        page = _parse_success(response, AuditEventsQueryResponse)
        if "data" not in page.model_fields_set:
            # Not an answer to the query (another endpoint's body, a proxy's page): reading it
            # as "nothing stored" would send stored events again.
            raise AuditAmbiguous(f"GET {EVENTS_PATH}: {response.status_code} without `data`")
        return page

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Accept": "application/json, application/problem+json"}
        if self._token_provider is not None and (token := self._token_provider()):
            headers["Authorization"] = f"Bearer {token}"
        http = await self._client()
        try:
            # httpx times each read, not the answer: a body dripping a byte at a time would
            # hold delivery forever. The timeout bounds the whole request.
            async with asyncio.timeout(self._timeout):
                response = await http.request(method, path, headers=headers, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
            raise AuditUnavailable(f"{method} {path}: {error!r}") from error
        except httpx.TransportError as error:
            raise AuditAmbiguous(f"{method} {path}: {error!r}") from error
        except TimeoutError as error:
            raise AuditAmbiguous(
                f"{method} {path}: no complete answer within {self._timeout:g} s"
            ) from error
        _raise_for_status(response)
        return response

    async def open(self) -> None:
        """Set the connection pool up now rather than on the first request, off the event loop
        (TLS set-up reads the CA files: tens of milliseconds)."""
        await self._client(await asyncio.to_thread(self._current_verify))

    def _current_verify(self) -> bool | ssl.SSLContext:
        return self._verify_source() if callable(self._verify_source) else self._verify_source

    async def _client(self, verify: bool | ssl.SSLContext | None = None) -> httpx.AsyncClient:
        if verify is None:
            verify = self._current_verify()
        if self._http is not None and verify is self._verify:
            return self._http
        context = verify
        if not isinstance(verify, ssl.SSLContext):
            context = await asyncio.to_thread(httpx.create_ssl_context, verify=verify)
            if self._http is not None and verify is self._verify:
                return self._http  # another request set it up meanwhile
        if self._http is not None:
            # Requests in flight keep using the old pool; it is closed with the client.
            self._retired.append(self._http)
        self._verify = verify
        self._http = httpx.AsyncClient(
            base_url=self._base_url,
            timeout=self._timeout,
            verify=context,
            transport=self._transport,
        )
        return self._http


def batch_answer_problem(sent: int, answer: BatchAuditEventResponse) -> str | None:
    """Why a success answer to a batch of `sent` events does not acknowledge each of them (one
    new id per event, in request order), or None when it does."""
    if answer.event_ids is None:
        return "without `event_ids`"
    if len(answer.event_ids) != sent:
        return f"with {len(answer.event_ids)} event ids for {sent} events sent"
    return None


def _raise_for_status(response: httpx.Response) -> None:
    status = response.status_code
    if status < 300:
        return
    where = f"{response.request.method} {response.request.url.path}"
    if status < 400:
        location = response.headers.get("Location") or "nowhere"
        raise AuditUnavailable(f"{where}: {status} redirect to {location}, not followed")
    if status in _AMBIGUOUS_SERVER_STATUSES:
        raise AuditAmbiguous(f"{where}: {status} from a gateway: {_problem(response).detail}")
    if status >= 500 or status in _RETRYABLE_CLIENT_STATUSES:
        raise AuditUnavailable(
            f"{where}: {status} {_problem(response).detail or ''}".rstrip(),
            status_code=status,
            retry_after=_retry_after(response),
        )
    raise AuditRejected(_problem(response))


def _parse_success(response: httpx.Response, model: type[_Parsed]) -> _Parsed:
    try:
        return model.model_validate_json(response.content)
    except pydantic.ValidationError as error:
        where = f"{response.request.method} {response.request.url.path}"
        raise AuditAmbiguous(
            f"{where}: {response.status_code} with an unreadable body: {error}"
        ) from error


def _problem(response: httpx.Response) -> RFC7807Problem:
    """The response's RFC 7807 body, or one made from its status and text when it has none."""
    try:
        document = response.json()
    except ValueError:
        document = None
    if isinstance(document, dict):
        try:
            return RFC7807Problem.model_validate(document)
        except pydantic.ValidationError:
            pass
        detail = document.get("detail") or document.get("message") or document.get("error")
    else:
        detail = response.text[:500] or None
    return RFC7807Problem.model_validate(
        {
            "type": "about:blank",
            "title": response.reason_phrase or f"HTTP {response.status_code}",
            "status": response.status_code,
            "detail": str(detail) if detail is not None else None,
        }
    )


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    date_header = response.headers.get("Date")
    now = parsedate_to_datetime(date_header) if date_header else None
    if now is None:
        return None
    return max(0.0, (when - now).total_seconds())
