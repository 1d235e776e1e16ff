"""A hostile HTTP front of the audit service: to the requests about a corpus case's
WorkflowExecutions it gives the case's answers (`datastorage_corpus.py`), each as many times as
the case says, and passes everything else through to the real service.

It speaks HTTP/1.1 itself (`hostile_http.py`), so that it can also drip a body or reset a
connection in the middle of one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

import httpx

from kubernaut_wfe_tools.testing.datastorage_corpus import (
    BodyKind,
    DataStorageCase,
    HostileAnswer,
    Route,
)
from kubernaut_wfe_tools.testing.hostile_http import (
    Request,
    Response,
    drip,
    phrase,
    read_request,
    reset,
    write_response,
)


class HostileDataStorage:
    """The front: `url` is what the controller's `--datastorage-url` points at.

    `served[(case, index)]` holds the loop times at which the case's answer number `index` was
    given; `touched[case]` the times of every request about the case, answered or passed on.
    """

    def __init__(self, upstream: str, cases: Sequence[DataStorageCase]) -> None:
        self._upstream_url = upstream
        self._cases = list(cases)
        self._wfe_of: dict[str, tuple[DataStorageCase, int]] = {
            f"rr-{name}": (case, index)
            for case in self._cases
            for index, name in enumerate(case.wfe_names())
        }
        self.served: dict[tuple[str, int], list[float]] = defaultdict(list)
        self.touched: dict[str, list[float]] = defaultdict(list)
        self._last_sent: dict[str, dict[str, Any]] = {}
        """The last event posted of each correlation id (an endless page's predecessor)."""
        self._server: asyncio.Server | None = None
        self._upstream: httpx.AsyncClient | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        """The front's base URL."""
        assert self._server is not None, "the front is not serving"
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aenter__(self) -> Self:
        self._upstream = httpx.AsyncClient(base_url=self._upstream_url, timeout=30)
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        if self._upstream is not None:
            await self._upstream.aclose()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            while (request := await read_request(reader)) is not None:
                if not await self._answer(request, writer):
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass  # the front stops: the connection ends with it
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def _answer(self, request: Request, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False when the connection must end."""
        answer = self._pick(request)
        if answer is None:
            await write_response(writer, await self._forward(request))
            return True
        if answer.kind is BodyKind.FEWER_IDS:
            events = json.loads(request.body)
            request.body = json.dumps(events[: len(events) // 2]).encode()
        upstream = await self._forward(request) if _needs_upstream(answer) else None
        if answer.kind is BodyKind.ENDLESS_PAGES:
            query = parse_qs(urlsplit(request.target).query)
            upstream = _endless_page(self._last_sent[query["correlation_id"][0]])
        response = _hostile_response(answer, upstream)
        if answer.kind is BodyKind.DRIP:
            await drip(writer, response)
            return False
        if answer.kind is BodyKind.RESET:
            writer.write(response.head() + response.body[: len(response.body) // 2])
            await writer.drain()
            reset(writer)
            return False
        await write_response(writer, response)
        return True

    def _pick(self, request: Request) -> HostileAnswer | None:
        """The answer the request gets (counted as served), or None to pass it through."""
        route = request.route
        if route is None:
            return None
        about = self._about(request, route)
        now = asyncio.get_running_loop().time()
        for case in {case.name: case for case, _, _ in about}.values():
            self.touched[case.name].append(now)
        size = len(json.loads(request.body)) if route is Route.BATCH else 0
        for case, index, event in about:
            for number, answer in enumerate(case.answers):
                served = self.served[case.name, number]
                if answer.times is not None and len(served) >= answer.times:
                    continue
                if _applies(answer, route, index, event, size):
                    served.append(now)
                    return answer
        return None

    def _about(
        self, request: Request, route: Route
    ) -> list[tuple[DataStorageCase, int, dict[str, Any] | None]]:
        """(case, WFE index, event) for each event of the request that is about a case."""
        if route is Route.QUERY:
            query = parse_qs(urlsplit(request.target).query)
            found = self._wfe_of.get((query.get("correlation_id") or [""])[0])
            return [(*found, None)] if found else []
        try:
            events = json.loads(request.body)
        except ValueError:
            return []
        about = []
        for event in events if isinstance(events, list) else []:
            found = self._wfe_of.get(str(event.get("correlation_id")))
            if found:
                self._last_sent[str(event["correlation_id"])] = event
                about.append((*found, event))
        return about

    async def _forward(self, request: Request) -> Response:
        assert self._upstream is not None
        content_type = request.headers.get("content-type")
        answer = await self._upstream.request(
            request.method,
            request.target,
            content=request.body or None,
            headers={"Content-Type": content_type} if content_type else None,
        )
        passed = tuple(
            (name, answer.headers[name]) for name in ("Retry-After",) if name in answer.headers
        )
        return Response(
            answer.status_code,
            answer.content,
            answer.headers.get("content-type", "application/json"),
            passed,
        )


def _applies(
    answer: HostileAnswer, route: Route, index: int, event: dict[str, Any] | None, size: int
) -> bool:
    """Whether `answer` is for this request: its route, and the event (of the case's WFE number
    `index`) in a batch of `size` events, or the query about that WFE (`event` None)."""
    if answer.route is not route or answer.wfe not in (None, index):
        return False
    if answer.event_type is not None and (event or {}).get("event_type") != answer.event_type:
        return False
    return route is not Route.BATCH or size >= answer.min_events


def _needs_upstream(answer: HostileAnswer) -> bool:
    upstream_bodies = (BodyKind.TRUNCATED, BodyKind.MORE_IDS, BodyKind.FEWER_IDS)
    return answer.forward or answer.kind in upstream_bodies


def _hostile_response(answer: HostileAnswer, upstream: Response | None) -> Response:
    headers = tuple(answer.headers.items())
    body: bytes
    if answer.kind is BodyKind.PROBLEM:
        problem = {
            "type": "about:blank",
            "title": phrase(answer.status),
            "status": answer.status,
            "detail": answer.detail,
        }
        body = json.dumps(problem).encode()
        return Response(answer.status, body, "application/problem+json", headers)
    if answer.kind is BodyKind.MORE_IDS:
        assert upstream is not None
        created = json.loads(upstream.body)
        created["event_ids"] = [*created.get("event_ids", []), str(uuid.uuid4())]
        body = json.dumps(created).encode()
    elif answer.kind is BodyKind.TRUNCATED:
        assert upstream is not None
        body = upstream.body[: len(upstream.body) // 2]
    elif answer.kind in (BodyKind.FEWER_IDS, BodyKind.ENDLESS_PAGES, BodyKind.RESET) and upstream:
        body = upstream.body
    elif isinstance(answer.body, str):
        body = answer.body.encode()
    elif answer.body is not None:
        body = json.dumps(answer.body).encode()
    else:
        body = b'{"event_ids": [], "message": "a body that never ends"}'
    return Response(answer.status, body, answer.content_type, headers)


def _endless_page(last_sent: dict[str, Any]) -> Response:
    earlier = datetime.fromisoformat(last_sent["event_timestamp"]) - timedelta(hours=1)
    predecessor = {
        **last_sent,
        "event_id": str(uuid.uuid4()),
        "event_timestamp": earlier.isoformat(),
    }
    pagination = {"limit": 1000, "offset": 0, "total": 1, "has_more": True}
    return Response(200, json.dumps({"data": [predecessor], "pagination": pagination}).encode())
