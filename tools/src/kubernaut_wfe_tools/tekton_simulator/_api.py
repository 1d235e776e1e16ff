"""The few Kubernetes API calls the simulator makes, over httpx (swappable for a shared client)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import httpx

from kubernaut_wfe.constants import TEKTON_API_VERSION

MERGE_PATCH = "application/merge-patch+json"
CONFLICT_RETRIES = 5
RETRY_AFTER_ATTEMPTS = 10
"""As client-go's REST client (which Tekton's controller uses): a 429 or 5xx answer carrying
Retry-After (the API server's "storage is (re)initializing" right after a CRD is installed, its
max-in-flight limit) is sent again after that many seconds, up to ten times, for every verb."""
MAX_RETRY_AFTER_SECONDS = 10.0
WATCH_TIMEOUT_SECONDS = 300
"""Server-side watch timeout: the stream is re-opened after this, so a silently dead watch
cannot hang the simulator forever."""


class ApiError(Exception):
    """A non-success answer from the API, with its status code."""

    def __init__(self, status: int, method: str, path: str, body: str) -> None:
        super().__init__(f"{method} {path} -> {status}: {body[:500]}")
        self.status = status
        self.reason = _status_reason(body)
        """The Kubernetes `Status.reason` (`AlreadyExists`, `Conflict`, …) or ""."""


def _status_reason(body: str) -> str:
    try:
        document = json.loads(body)
    except ValueError:
        return ""
    reason = document.get("reason") if isinstance(document, dict) else None
    return reason if isinstance(reason, str) else ""


class NotFoundError(ApiError):
    """404: the object (or its namespace) does not exist."""


class GoneError(ApiError):
    """410: a watch's resourceVersion is too old; list again."""


def collection_path(plural: str, namespace: str | None = None) -> str:
    if namespace is None:
        return f"/apis/{TEKTON_API_VERSION}/{plural}"
    return f"/apis/{TEKTON_API_VERSION}/namespaces/{namespace}/{plural}"


def object_path(plural: str, namespace: str, name: str) -> str:
    return f"{collection_path(plural, namespace)}/{name}"


class TektonApi:
    """Typed-enough access to `tekton.dev/v1` objects on one API server."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def _request(
        self, method: str, path: str, *, body: Any = None, content_type: str | None = None
    ) -> dict[str, Any]:
        headers = {"Content-Type": content_type or "application/json"}
        content = None if body is None else json.dumps(body)
        for attempt in range(1, RETRY_AFTER_ATTEMPTS + 1):
            response = await self._client.request(method, path, content=content, headers=headers)
            wait = retry_after(response)
            if wait is None or attempt == RETRY_AFTER_ATTEMPTS:
                break
            await asyncio.sleep(wait)
        if response.status_code >= 400:
            error = {404: NotFoundError, 410: GoneError}.get(response.status_code, ApiError)
            raise error(response.status_code, method, path, response.text)
        result: dict[str, Any] = response.json()
        return result

    async def get(self, plural: str, namespace: str, name: str) -> dict[str, Any]:
        return await self._request("GET", object_path(plural, namespace, name))

    async def core_object_exists(self, plural: str, namespace: str, name: str) -> bool:
        """Whether a core (`v1`) object such as a Secret exists: what the kubelet finds."""
        try:
            await self._request("GET", f"/api/v1/namespaces/{namespace}/{plural}/{name}")
        except NotFoundError:
            return False
        return True

    async def list(self, plural: str, namespace: str | None = None) -> dict[str, Any]:
        return await self._request("GET", collection_path(plural, namespace))

    async def create(self, plural: str, namespace: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return await self._request("POST", collection_path(plural, namespace), body=body)

    async def merge_patch(
        self, plural: str, namespace: str, name: str, patch: Mapping[str, Any]
    ) -> dict[str, Any]:
        path = object_path(plural, namespace, name)
        return await self._request("PATCH", path, body=patch, content_type=MERGE_PATCH)

    async def delete(self, plural: str, namespace: str, name: str) -> None:
        await self._request("DELETE", object_path(plural, namespace, name))

    async def replace_status(
        self,
        plural: str,
        namespace: str,
        name: str,
        status: Mapping[str, Any],
        *,
        uid: str | None = None,
    ) -> dict[str, Any]:
        """PUT `/status` with the read resourceVersion; a 409 re-reads and tries again.

        With `uid`, a run deleted and re-created under the same name raises NotFoundError instead of
        receiving a status that was meant for its predecessor.
        """
        return await self.update(plural, namespace, name, lambda _: dict(status), uid=uid)

    async def update(
        self,
        plural: str,
        namespace: str,
        name: str,
        make_status: Callable[[Mapping[str, Any]], dict[str, Any]],
        *,
        uid: str | None = None,
    ) -> dict[str, Any]:
        path = object_path(plural, namespace, name) + "/status"
        for attempt in range(CONFLICT_RETRIES):
            current = await self.get(plural, namespace, name)
            if uid is not None and current.get("metadata", {}).get("uid") != uid:
                raise NotFoundError(404, "PUT", path, f"uid is no longer {uid}")
            current["status"] = make_status(current)
            try:
                return await self._request("PUT", path, body=current)
            except ApiError as error:
                if error.status != 409 or attempt == CONFLICT_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def watch(
        self, plural: str, namespace: str | None, resource_version: str
    ) -> AsyncIterator[dict[str, Any]]:
        """Yield watch events (`{"type", "object"}`) until the server closes the stream."""
        params = {
            "watch": "true",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(WATCH_TIMEOUT_SECONDS),
        }
        path = collection_path(plural, namespace)
        async with self._client.stream("GET", path, params=params, timeout=None) as response:
            if response.status_code >= 400:
                body = (await response.aread()).decode(errors="replace")
                error = {404: NotFoundError, 410: GoneError}.get(response.status_code, ApiError)
                raise error(response.status_code, "WATCH", path, body)
            async for line in response.aiter_lines():
                if line.strip():
                    event: dict[str, Any] = json.loads(line)
                    yield event


def retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait before sending again, when the answer asks for it (429 or 5xx with a
    Retry-After of whole seconds, as the API server writes it); None otherwise."""
    if response.status_code != 429 and response.status_code < 500:
        return None
    value = response.headers.get("Retry-After", "")
    if not value.isdigit():
        return None
    return min(float(value), MAX_RETRY_AFTER_SECONDS)
