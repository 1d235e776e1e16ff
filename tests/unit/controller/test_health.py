"""What readiness reports of DataStorage's `/health`."""

from __future__ import annotations

import httpx
import pytest

from kubernaut_wfe.controller.health import datastorage_state

NOT_DATASTORAGE = "answers, but not as DataStorage's /health does"


def _answering(status: int, body: bytes, content_type: str) -> httpx.AsyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/health"
        return httpx.Response(status, content=body, headers={"content-type": content_type})

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


@pytest.mark.parametrize(
    ("status", "body", "content_type", "expected"),
    [
        (200, b'{"status": "healthy"}', "application/json", "reachable"),
        (200, b"<html>login</html>", "text/html", f"{NOT_DATASTORAGE} (text/html)"),
        (200, b"[]", "application/json", f"{NOT_DATASTORAGE} (application/json)"),
        (302, b"", "text/html", "HTTP 302"),
        (404, b"{}", "application/json", "HTTP 404"),
        (503, b'{"status": "unhealthy"}', "application/json", "HTTP 503"),
    ],
)  # fmt: skip
async def test_only_datastorages_own_answer_is_reachable(
    status: int, body: bytes, content_type: str, expected: str
) -> None:
    async with _answering(status, body, content_type) as http:
        assert await datastorage_state(http, "http://datastorage:8080/") == expected


async def test_an_unreachable_datastorage_names_the_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        assert (
            await datastorage_state(http, "http://datastorage:8080") == "unreachable: ConnectError"
        )
