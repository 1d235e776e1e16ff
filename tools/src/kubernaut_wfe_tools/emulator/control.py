"""`/_emulator/...`: the request log, fault injection and health, for other processes."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import aiohttp.web

from kubernaut_wfe_tools.emulator.errors import ApiError

if TYPE_CHECKING:
    from kubernaut_wfe_tools.emulator.server import ApiEmulator


def _json(body: Any, status: int = 200) -> aiohttp.web.Response:
    return aiohttp.web.json_response(body, status=status)


class ControlApi:
    """Routes of `/_emulator/`: `requests` (GET filter, DELETE clear), `faults` (GET, POST,
    DELETE), `faults/release` (POST), `healthz` (GET)."""

    def __init__(self, emulator: ApiEmulator) -> None:
        self.emu = emulator

    async def serve(self, request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        """Serve one control request."""
        route = (request.method, request.path.removeprefix("/_emulator/").strip("/"))
        if route == ("GET", "healthz"):
            return _json({"status": "ok", "url": self.emu.url})
        if route == ("GET", "requests"):
            query = dict(request.query)
            records = self.emu.request_log.filter(**query)
            return _json(
                {"items": [r.to_dict() for r in records], "dropped": self.emu.request_log.dropped}
            )
        if route == ("DELETE", "requests"):
            self.emu.request_log.clear()
            return _json({"cleared": True})
        if route == ("GET", "faults"):
            return _json({"items": [r.to_dict() for r in self.emu.faults.rules]})
        if route == ("POST", "faults"):
            spec = await _read_object(request)
            rule = self.emu.faults.add(**spec)
            return _json(rule.to_dict(), 201)
        if route == ("DELETE", "faults"):
            self.emu.faults.clear()
            return _json({"cleared": True})
        if route == ("POST", "faults/release"):
            self.emu.faults.release()
            return _json({"released": True})
        raise ApiError(404, f"no emulator control endpoint {request.method} {request.path}")


async def _read_object(request: aiohttp.web.BaseRequest) -> dict[str, Any]:
    try:
        body = json.loads(await request.read() or b"{}")
    except ValueError as exc:
        raise ApiError(400, f"the request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return body
