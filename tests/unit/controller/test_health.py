"""What readiness reports of DataStorage: its own `/health`, or any 2xx of a configured
`audit.datastorage_health_url`."""

from __future__ import annotations

import httpx
import pytest

from kubernaut_wfe.controller.health import datastorage_state

NOT_DATASTORAGE = "answers, but not as DataStorage's /health does"


def _answering(status: int, body: bytes, content_type: str, path: str) -> httpx.AsyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == path
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
    async with _answering(status, body, content_type, "/health") as http:
        probe = await datastorage_state(http, "http://datastorage:8080/")
    assert (probe.state, probe.url) == (expected, "http://datastorage:8080/health")
    assert probe.reachable is (expected == "reachable")


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, b"ok", "reachable"),
        (204, b"", "reachable"),
        (302, b"", "HTTP 302"),
        (503, b'{"status": "healthy"}', "HTTP 503"),
    ],
)
async def test_a_configured_health_url_is_reachable_on_any_2xx(
    status: int, body: bytes, expected: str
) -> None:
    async with _answering(status, body, "text/plain", "/readyz") as http:
        probe = await datastorage_state(
            http, "http://datastorage:8080", "http://datastorage:8081/readyz"
        )
    assert (probe.state, probe.url) == (expected, "http://datastorage:8081/readyz")


async def test_an_unreachable_datastorage_names_the_error_and_hides_user_info() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        probe = await datastorage_state(http, "http://audit:s3cret@datastorage:8080")
    assert probe.state == "unreachable: ConnectError"
    assert probe.url == "http://datastorage:8080/health"
    assert not probe.reachable
