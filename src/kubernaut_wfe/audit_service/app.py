"""The HTTP face of the audit service: DataStorage's audit routes on aiohttp.

Every request body is validated (see `validation`) before anything is stored; every error is an
RFC 7807 problem; a batch is stored in one transaction or not at all.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import structlog
from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage

from kubernaut_wfe.audit_service.problems import problem
from kubernaut_wfe.audit_service.query import parse_event_query
from kubernaut_wfe.audit_service.records import AuditRecord
from kubernaut_wfe.audit_service.store import AuditStore, StoreError
from kubernaut_wfe.audit_service.timestamps import format_rfc3339
from kubernaut_wfe.audit_service.validation import (
    InvalidRequestError,
    PayloadTooLargeError,
    check_event_sizes,
    parse_events,
    validate_batch,
    validate_event,
)

EVENTS_PATH: Final = "/api/v1/audit/events"
BATCH_PATH: Final = "/api/v1/audit/events/batch"
MAX_BODY_BYTES: Final = 16 * 1024 * 1024
"""A request body's bound (413 past it): a full batch of 1000 events of 16 KiB each."""
MAX_PAGE_BYTES: Final = 4 * 1024 * 1024
"""A query page's bound: past it the page ends early (`has_more`), so no answer ties up the
service (and its `/health`) serialising hundreds of megabytes."""

Clock = Callable[[], datetime]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_log = structlog.get_logger("kubernaut_wfe.audit_service")


@dataclass
class ServiceState:
    """Mutable state shared by the handlers: `draining` turns readiness off during shutdown."""

    store: AuditStore
    clock: Clock
    draining: bool = False


STATE_KEY: Final = web.AppKey("state", ServiceState)


@web.middleware
async def _access_log(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    response = await handler(request)
    _log.info(
        "request",
        method=request.method,
        path=request.path,
        status=response.status,
        duration_ms=round((time.perf_counter() - started) * 1000, 3),
    )
    return response


@web.middleware
async def _problems(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except PayloadTooLargeError as too_large:
        return problem(413, too_large.detail)
    except InvalidRequestError as invalid:
        return problem(400, invalid.detail, field_errors=invalid.field_errors)
    except web.HTTPNotFound:
        return problem(404, f"no route {request.path}")
    except web.RequestPayloadError as error:
        # A body aiohttp cannot decode (gzip that is not gzip): the client's fault, not ours.
        cause = error.__cause__
        reason = cause.message if isinstance(cause, BadHttpMessage) else str(error)
        return problem(400, f"the request body cannot be read: {' '.join(reason.split())}")
    except web.HTTPMethodNotAllowed as error:
        allowed = ", ".join(sorted(error.allowed_methods))
        return problem(
            405, f"{request.method} is not allowed on {request.path}", headers={"Allow": allowed}
        )
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return problem(error.status, error.text or error.reason)
    except StoreError as error:
        _log.error("store failed", method=request.method, path=request.path, error=str(error))
        return problem(500, f"the audit store failed: {error}")
    except ConnectionResetError:
        raise  # the client left mid-request: aiohttp logs it as one line (kubernaut_wfe.httplog)
    except Exception as error:
        _log.exception("request failed", method=request.method, path=request.path)
        return problem(500, f"internal error: {type(error).__name__}")


async def _json_body(request: web.Request) -> Any:
    """The request's JSON, each event in it within `MAX_EVENT_BYTES` (413 otherwise)."""
    if request.content_type != "application/json":
        raise InvalidRequestError(
            f"Content-Type must be application/json, not {request.content_type}",
            {"Content-Type": request.content_type},
        )
    document, sizes = parse_events(await request.read())
    check_event_sizes(sizes)
    return document


async def create_audit_event(request: web.Request) -> web.Response:
    """`createAuditEvent`: store one event."""
    state = request.app[STATE_KEY]
    event = validate_event(await _json_body(request), state.clock())
    record = AuditRecord.from_request(event, uuid.uuid4())
    await state.store.insert([record])
    body = {
        "event_id": str(record.event_id),
        "event_timestamp": format_rfc3339(record.event_timestamp),
        "message": "audit event created",
    }
    return web.json_response(body, status=201)


async def create_audit_events_batch(request: web.Request) -> web.Response:
    """`createAuditEventsBatch`: store 1..1000 events, all or nothing."""
    state = request.app[STATE_KEY]
    events = validate_batch(await _json_body(request), state.clock())
    records = [AuditRecord.from_request(event, uuid.uuid4()) for event in events]
    await state.store.insert(records)
    body = {
        "event_ids": [str(record.event_id) for record in records],
        "message": f"{len(records)} audit events created",
    }
    return web.json_response(body, status=201)


async def query_audit_events(request: web.Request) -> web.Response:
    """`queryAuditEvents`: a page of matching events, newest first."""
    state = request.app[STATE_KEY]
    query = parse_event_query(request.query, state.clock())
    page = await state.store.query(query)
    # Each event is serialised once: the text that counts toward the page's size is the text
    # sent (serialising twice cost a reader-heavy service half its time in the bench).
    data: list[str] = []
    size = 0
    for record in page.records:
        wire = json.dumps(record.to_wire(), separators=(",", ":"))
        size += len(wire)
        if data and size > MAX_PAGE_BYTES:
            break  # the rest comes with the next offset
        data.append(wire)
    pagination = {
        "limit": query.limit,
        "offset": query.offset,
        "total": page.total,
        "has_more": query.offset + len(data) < page.total,
    }
    text = f'{{"data":[{",".join(data)}],"pagination":{json.dumps(pagination)}}}'
    return web.Response(text=text, content_type="application/json")


async def health(request: web.Request) -> web.Response:
    """`healthCheck`: healthy when the database answers."""
    try:
        await request.app[STATE_KEY].store.ping()
    except StoreError as error:
        return web.json_response({"status": "unhealthy", "error": str(error)}, status=503)
    return web.json_response({"status": "healthy"})


async def readiness(request: web.Request) -> web.Response:
    """`readinessCheck`: ready when the database answers and we are not shutting down."""
    state = request.app[STATE_KEY]
    if state.draining:
        return web.json_response({"status": "shutting down"}, status=503)
    try:
        await state.store.ping()
    except StoreError as error:
        return web.json_response({"status": "not ready", "error": str(error)}, status=503)
    return web.json_response({"status": "ready"})


async def liveness(_: web.Request) -> web.Response:
    """`livenessCheck`: the process answers; no dependency is checked."""
    return web.json_response({"status": "alive"})


def create_app(store: AuditStore, *, clock: Clock) -> web.Application:
    """The audit service over an opened `store`; `clock` returns the aware current time."""
    app = web.Application(middlewares=[_access_log, _problems], client_max_size=MAX_BODY_BYTES)
    app[STATE_KEY] = ServiceState(store=store, clock=clock)
    app.router.add_post(BATCH_PATH, create_audit_events_batch)
    app.router.add_post(EVENTS_PATH, create_audit_event)
    app.router.add_get(EVENTS_PATH, query_audit_events, allow_head=False)
    app.router.add_get("/health", health, allow_head=False)
    app.router.add_get("/health/ready", readiness, allow_head=False)
    app.router.add_get("/health/live", liveness, allow_head=False)
    return app
