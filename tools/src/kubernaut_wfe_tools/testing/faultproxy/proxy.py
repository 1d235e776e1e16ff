"""`FaultProxy`: a TLS reverse proxy on loopback in front of a real API server that applies the
emulator's fault rules (`kubernaut_wfe_tools.emulator.faults`) to the requests passing through."""

from __future__ import annotations

import contextlib
import logging
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

import aiohttp
import aiohttp.web
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from kubernaut_wfe_tools.emulator.codec import error_response
from kubernaut_wfe_tools.emulator.errors import ApiError
from kubernaut_wfe_tools.emulator.faults import FaultInjector, FaultRule, RequestLog, RequestRecord
from kubernaut_wfe_tools.testing.faultproxy.requestinfo import RequestInfo, parse_request_info

logger = logging.getLogger(__name__)

_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_REQUEST_ONLY = ("host", "content-length", "expect")
"""Request headers this hop dealt with: aiohttp sets Host and Content-Length again; a `100
continue` was answered here."""
_AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")
"""What aiohttp's client would add on its own: only the client's own are sent."""
_CONNECT_TIMEOUT = 10.0
_SHUTDOWN_TIMEOUT = 5.0


@dataclass(eq=False)
class _Upstream:
    """One response of the API server being copied to a client."""

    response: aiohttp.ClientResponse
    info: RequestInfo | None
    ended_by_proxy: bool = False

    @property
    def watch(self) -> bool:
        """Whether this is a watch stream (which ends cleanly when the proxy ends it)."""
        return self.info is not None and self.info.verb == "watch"

    def end(self) -> None:
        """Close the API server's side: a watch then ends cleanly for its client, as the
        emulator's do; any other response cut short closes the client's connection."""
        self.ended_by_proxy = True
        self.response.close()


class FaultProxy:
    """Serves HTTPS on 127.0.0.1 (a free port) and forwards every request to `upstream_url` as it
    came (method, path, query, body, Authorization and the other end-to-end headers) over its own
    verified TLS connection, which presents no client certificate: the client's bearer token is
    what the API server authenticates. Responses stream back unbuffered and without a timeout.

    Resource requests become `RequestRecord`s and consult `faults` once each, as the emulator's
    do: `error` and `drop-watch` are answered here (and logged in `refused`), `hold` waits for
    `faults.release()`/`clear()`, `delay` sleeps; adding a `drop-watch` rule ends the open
    proxied watches it covers. Non-resource requests (`/version`, discovery, OpenAPI, health)
    pass with no fault applied."""

    def __init__(
        self,
        upstream_url: str,
        upstream_tls: ssl.SSLContext,
        serving_cert: Path,
        serving_key: Path,
    ) -> None:
        if upstream_tls.verify_mode != ssl.CERT_REQUIRED or not upstream_tls.check_hostname:
            raise ValueError("the fault proxy verifies the API server: give a verifying context")
        self.upstream_url = upstream_url.rstrip("/")
        self.upstream_tls = upstream_tls
        self.serving_cert = serving_cert
        self.serving_key = serving_key
        self.faults = FaultInjector()
        self.refused = RequestLog()
        """Requests the proxy answered itself, with `fault` and `status` set."""
        self._url: str | None = None
        self._runner: aiohttp.web.ServerRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._open: set[_Upstream] = set()
        self._closing = False

    @property
    def url(self) -> str:
        """`https://127.0.0.1:<port>` while serving."""
        if self._url is None:
            raise RuntimeError("the fault proxy is not serving")
        return self._url

    async def __aenter__(self) -> Self:
        serving = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        serving.load_cert_chain(str(self.serving_cert), str(self.serving_key))
        self._closing = False
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=self.upstream_tls, limit=0),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=_CONNECT_TIMEOUT),
            auto_decompress=False,
        )
        server = aiohttp.web.Server(self._serve, handler_cancellation=True, auto_decompress=False)
        self._runner = aiohttp.web.ServerRunner(server, shutdown_timeout=_SHUTDOWN_TIMEOUT)
        try:
            await self._runner.setup()
            site = aiohttp.web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=serving)
            await site.start()
        except BaseException:
            await self._stop()
            raise
        port = self._runner.addresses[0][1]
        self._url = f"https://127.0.0.1:{port}"
        self.faults.on_drop_watches.append(self._drop_watches)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        with contextlib.suppress(ValueError):
            self.faults.on_drop_watches.remove(self._drop_watches)
        await self._stop()

    async def _stop(self) -> None:
        # Held requests go on (and finish, the runner waits for them); open streams end.
        self._closing = True
        self.faults.release()
        for upstream in list(self._open):
            upstream.end()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        self._url = None

    # -- serving -----------------------------------------------------------------------------

    async def _serve(self, request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        query = dict(request.query)
        info = parse_request_info(request.method, request.path, query)
        if info is not None:
            refusal = await self._apply_fault(request, info, query)
            if refusal is not None:
                return refusal
        return await self._forward(request, info)

    async def _apply_fault(
        self, request: aiohttp.web.BaseRequest, info: RequestInfo, query: dict[str, str]
    ) -> aiohttp.web.StreamResponse | None:
        record = RequestRecord(
            method=request.method,
            path=request.path,
            verb=info.verb,
            resource=info.resource,
            namespace=info.namespace,
            name=info.name,
            subresource=info.subresource,
            query=query,
            user_agent=request.headers.get("User-Agent", ""),
        )
        refusal = await self.faults.apply(record, info.resource_names)
        if refusal is None:
            return None
        self.refused.append(record)
        return error_response(refusal)

    async def _forward(
        self, request: aiohttp.web.BaseRequest, info: RequestInfo | None
    ) -> aiohttp.web.StreamResponse:
        if self._session is None or self._session.closed:
            return error_response(ApiError(503, "the fault proxy is stopping"))
        body = await request.content.read()
        try:
            answer = await self._session.request(
                request.method,
                URL(self.upstream_url + request.raw_path, encoded=True),
                headers=_end_to_end(request.headers, also_drop=_REQUEST_ONLY),
                data=body or None,
                allow_redirects=False,
                skip_auto_headers=_AUTO_HEADERS,
            )
        except aiohttp.ClientError as exc:
            logger.warning("fault proxy: %s %s failed: %r", request.method, request.path, exc)
            return error_response(ApiError(502, f"the fault proxy cannot reach the API: {exc}"))
        upstream = _Upstream(answer, info)
        self._open.add(upstream)
        if self._closing and upstream.watch:
            upstream.end()  # a watch started while stopping: no stream outlives the proxy
        try:
            return await self._copy(request, upstream)
        finally:
            self._open.discard(upstream)
            if answer.content.is_eof() and not upstream.ended_by_proxy:
                answer.release()  # read to its end: the connection serves the next request
            else:
                answer.close()

    async def _copy(
        self, request: aiohttp.web.BaseRequest, upstream: _Upstream
    ) -> aiohttp.web.StreamResponse:
        answer = upstream.response
        response = aiohttp.web.StreamResponse(
            status=answer.status,
            reason=answer.reason,
            headers=_end_to_end(answer.headers),
        )
        try:
            await response.prepare(request)
            async for chunk in answer.content.iter_any():
                await response.write(chunk)
        except ConnectionResetError:  # the client left
            return response
        except aiohttp.ClientError:
            cut_short = True
        else:
            cut_short = False
        if upstream.ended_by_proxy:
            cut_short = not upstream.watch
        if cut_short:
            # by the API server, or a response the proxy stopped: the client's is cut short too
            logger.warning("fault proxy: the response to %s was cut short", request.path)
            if request.transport is not None:
                request.transport.close()
            return response
        with contextlib.suppress(ConnectionResetError):
            await response.write_eof()
        return response

    def _drop_watches(self, rule: FaultRule) -> None:
        # As the emulator's `drop_matching_watches`: by resource and namespace only.
        for upstream in list(self._open):
            info = upstream.info
            if info is None or not upstream.watch:
                continue
            if rule.resource is not None and rule.resource not in info.resource_names:
                continue
            if rule.namespace is not None and info.namespace != rule.namespace:
                continue
            upstream.end()


def _end_to_end(headers: CIMultiDictProxy[str], also_drop: Iterable[str] = ()) -> CIMultiDict[str]:
    """The headers minus the hop-by-hop ones (and those `Connection` names)."""
    named = {
        token.strip().lower()
        for value in headers.getall("Connection", [])
        for token in value.split(",")
    }
    drop = _HOP_BY_HOP | named | {name.lower() for name in also_drop}
    kept: CIMultiDict[str] = CIMultiDict()
    for key, value in headers.items():
        if key.lower() not in drop:
            kept.add(key, value)
    return kept
