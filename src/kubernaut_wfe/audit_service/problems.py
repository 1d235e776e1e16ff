"""RFC 7807 problem responses (`application/problem+json`), the only error form of the service."""

from __future__ import annotations

import json
from collections.abc import Mapping

from aiohttp import web

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://kubernaut.ai/problems/"

_TITLES = {
    400: ("validation-error", "Validation Error"),
    404: ("not-found", "Not Found"),
    405: ("method-not-allowed", "Method Not Allowed"),
    413: ("payload-too-large", "Payload Too Large"),
    500: ("internal-error", "Internal Server Error"),
    503: ("service-unavailable", "Service Unavailable"),
}


def problem(
    status: int,
    detail: str,
    *,
    field_errors: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """A problem+json response with `type`, `title`, `status`, `detail` (and `field_errors`)."""
    slug, title = _TITLES.get(status, ("http-error", web.Response(status=status).reason))
    body: dict[str, object] = {
        "type": PROBLEM_TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if field_errors:
        body["field_errors"] = dict(field_errors)
    return web.Response(
        status=status,
        text=json.dumps(body),
        content_type=PROBLEM_CONTENT_TYPE,
        headers=headers,
    )
