"""Watch streams: initial state or history replay, then live events until timeoutSeconds,
the client leaving, a drop-watch fault or server shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any

import aiohttp.web

from kubernaut_wfe_tools.emulator.codec import event_line, positive_int, watch_since
from kubernaut_wfe_tools.emulator.errors import ApiError
from kubernaut_wfe_tools.emulator.faults import FaultRule
from kubernaut_wfe_tools.emulator.paths import ResourcePath
from kubernaut_wfe_tools.emulator.resources import ResourceType
from kubernaut_wfe_tools.emulator.selectors import FieldSelector, LabelSelector
from kubernaut_wfe_tools.emulator.store import HistoryExpiredError, Watcher
from kubernaut_wfe_tools.emulator.tables import table, wants_table

if TYPE_CHECKING:
    from kubernaut_wfe_tools.emulator.server import ApiEmulator

_HEARTBEAT_SECONDS = 2.0


class WatchStream:
    """Serves one watch request."""

    def __init__(self, emulator: ApiEmulator) -> None:
        self.emu = emulator
        self._tables = False
        self._bookmarks = False

    async def serve(
        self,
        request: aiohttp.web.BaseRequest,
        path: ResourcePath,
        query: dict[str, str],
        names: tuple[str, ...],
    ) -> aiohttp.web.StreamResponse:
        """Stream events as JSON lines; `names` are the resource's names for drop-watch faults."""
        res = path.resource
        watcher = Watcher(
            resource_key=res.key,
            namespace=path.namespace,
            labels=LabelSelector.parse(query.get("labelSelector")),
            fields=FieldSelector.for_resource(res, query.get("fieldSelector")),
        )
        self._tables = wants_table(request.headers.get("Accept", ""))
        self._bookmarks = query.get("allowWatchBookmarks") == "true"
        since = watch_since(query.get("resourceVersion"))
        # As the API server: sendInitialEvents=true sends the whole state whatever the version
        # (then a bookmark that ends it, when bookmarks are allowed); =false sends only what
        # happens after the version (after now without one); absent, a watch without a version
        # (or from "0") sends the state first and, with bookmarks allowed, the same bookmark.
        initial_events = query.get("sendInitialEvents")
        if initial_events == "true":
            start, end_bookmark = None, self._bookmarks
        elif initial_events == "false":
            start, end_bookmark = (self.emu.store.revision if since is None else since), False
        else:
            start, end_bookmark = since, since is None and self._bookmarks
        timeout = positive_int(query.get("timeoutSeconds"), "timeoutSeconds")
        response = aiohttp.web.StreamResponse(
            status=200, headers={"Content-Type": "application/json", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        try:
            initial = self.emu.store.watch(watcher, start)
        except HistoryExpiredError as expired:
            error = ApiError(410, str(expired), reason="Expired")
            await response.write(event_line({"type": "ERROR", "object": error.status()}))
            await response.write_eof()
            return response
        self.emu.watches[watcher] = names
        try:
            for event in initial:
                await response.write(self._line(res, event))
            if end_bookmark:
                await response.write(event_line(self._initial_events_end(res)))
            await self._pump(request, response, res, watcher, timeout)
        except ConnectionResetError:
            pass
        finally:
            self.emu.store.unwatch(watcher)
            self.emu.watches.pop(watcher, None)
        with contextlib.suppress(ConnectionResetError):
            await response.write_eof()
        return response

    def _initial_events_end(self, res: ResourceType) -> dict[str, Any]:
        return {
            "type": "BOOKMARK",
            "object": {
                "apiVersion": res.api_version,
                "kind": res.kind,
                "metadata": {
                    "resourceVersion": str(self.emu.store.revision),
                    "annotations": {"k8s.io/initial-events-end": "true"},
                },
            },
        }

    async def _pump(
        self,
        request: aiohttp.web.BaseRequest,
        response: aiohttp.web.StreamResponse,
        res: ResourceType,
        watcher: Watcher,
        lifetime: int | None,
    ) -> None:
        now = time.monotonic()
        deadline = None if not lifetime else now + lifetime
        interval = self.emu.bookmark_interval if self._bookmarks else None
        next_bookmark = None if interval is None else now + interval
        while True:
            now = time.monotonic()
            wait = min(
                t - now
                for t in (now + _HEARTBEAT_SECONDS, deadline, next_bookmark)
                if t is not None
            )
            if deadline is not None and now >= deadline:
                return
            try:
                event = await asyncio.wait_for(watcher.queue.get(), max(wait, 0))
            except TimeoutError:
                transport = request.transport
                if transport is None or transport.is_closing():
                    return
                due = next_bookmark is not None and time.monotonic() >= next_bookmark
                if due and interval is not None:
                    # the queue is empty: this watcher has every event up to now
                    await response.write(event_line(self._bookmark(res)))
                    next_bookmark = time.monotonic() + interval
                continue
            if event is None:
                return
            await response.write(self._line(res, event))

    def _bookmark(self, res: ResourceType) -> dict[str, Any]:
        return {
            "type": "BOOKMARK",
            "object": {
                "apiVersion": res.api_version,
                "kind": res.kind,
                "metadata": {"resourceVersion": str(self.emu.store.revision)},
            },
        }

    def _line(self, res: ResourceType, event: dict[str, Any]) -> bytes:
        # `kubectl get -w` asks for Tables: each event then carries a one-row Table.
        if self._tables and event.get("type") in ("ADDED", "MODIFIED", "DELETED"):
            obj = event["object"]
            meta = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
            event = {**event, "object": table(res, [obj], meta, self.emu.lifecycle.clock())}
        return event_line(event)


def drop_matching_watches(emulator: ApiEmulator, rule: FaultRule) -> int:
    """Close the open watch streams a `drop-watch` rule covers; returns how many."""
    dropped = 0
    for watcher, names in list(emulator.watches.items()):
        if rule.resource is not None and rule.resource not in names:
            continue
        if rule.namespace is not None and watcher.namespace != rule.namespace:
            continue
        watcher.close()
        dropped += 1
    return dropped
