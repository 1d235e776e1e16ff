"""The sandbox's small Kubernetes API client: discovery, create, namespaces, WFE list and watch."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from kubernaut_wfe.constants import API_VERSION, PLURAL

WFE_COLLECTION = f"/apis/{API_VERSION}/{PLURAL}"
WATCH_SECONDS = 60
"""Server-side watch timeout: the stream is re-opened from the last resourceVersion after it."""


class KubeApiError(Exception):
    """The API refused something the sandbox needs; the message has the server's words."""


@dataclass(frozen=True)
class ServedResource:
    plural: str
    namespaced: bool


@dataclass(frozen=True)
class CreateResult:
    """What the API answered to a create: `created`, `exists` or `rejected` (with its message)."""

    outcome: str
    message: str = ""
    body: dict[str, Any] | None = None


@dataclass(frozen=True)
class WatchEvent:
    type: str
    """ADDED, MODIFIED, DELETED or RELISTED (the full list after a (re)connect)."""
    objects: list[dict[str, Any]]


def api_message(response: httpx.Response) -> str:
    """The `message` of a Kubernetes Status body, else the response text."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip() or f"HTTP {response.status_code}"
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return response.text.strip()


def _group_path(api_version: str) -> str:
    return "/api/v1" if api_version == "v1" else f"/apis/{api_version}"


class KubeApi:
    """Typed helpers over an `httpx.AsyncClient` whose base URL is the API server."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client
        self._discovered: dict[str, dict[str, ServedResource]] = {}

    async def resource(self, api_version: str, kind: str) -> ServedResource | None:
        """The served resource of apiVersion+kind (discovery, cached), or None."""
        if api_version not in self._discovered:
            response = await self._client.get(_group_path(api_version))
            kinds: dict[str, ServedResource] = {}
            if response.status_code == 200:
                for item in response.json().get("resources") or []:
                    if "/" not in item["name"]:
                        kinds[item["kind"]] = ServedResource(item["name"], item["namespaced"])
            self._discovered[api_version] = kinds
        return self._discovered[api_version].get(kind)

    async def create(self, body: dict[str, Any], default_namespace: str) -> CreateResult:
        """POST the object with strict field validation (as `kubectl apply` does)."""
        api_version, kind = str(body["apiVersion"]), str(body["kind"])
        served = await self.resource(api_version, kind)
        if served is None:
            return CreateResult("rejected", f'no resource of kind "{kind}" in {api_version}')
        path = _group_path(api_version)
        if served.namespaced:
            metadata = body.setdefault("metadata", {})
            namespace = metadata.setdefault("namespace", default_namespace)
            path += f"/namespaces/{namespace}"
        response = await self._client.post(
            f"{path}/{served.plural}", json=body, params={"fieldValidation": "Strict"}
        )
        if response.status_code in (200, 201):
            return CreateResult("created", body=response.json())
        if response.status_code == 409:
            return CreateResult("exists", api_message(response))
        return CreateResult("rejected", f"HTTP {response.status_code}: {api_message(response)}")

    async def ensure_namespace(self, name: str) -> bool:
        """Create the Namespace unless it exists; True when it was created now."""
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        response = await self._client.post("/api/v1/namespaces", json=body)
        if response.status_code == 409:
            return False
        if response.status_code not in (200, 201):
            raise KubeApiError(f"cannot create namespace {name}: {api_message(response)}")
        return True

    async def get_wfe(self, namespace: str, name: str) -> dict[str, Any] | None:
        response = await self._client.get(
            f"/apis/{API_VERSION}/namespaces/{namespace}/{PLURAL}/{name}"
        )
        if response.status_code == 404:
            return None
        response.raise_for_status()
        found: dict[str, Any] = response.json()
        return found

    async def list_wfes(self) -> tuple[list[dict[str, Any]], str]:
        """Every WorkflowExecution in every namespace, and the list's resourceVersion."""
        response = await self._client.get(WFE_COLLECTION)
        response.raise_for_status()
        listing = response.json()
        items: list[dict[str, Any]] = listing.get("items") or []
        return items, str((listing.get("metadata") or {}).get("resourceVersion") or "")

    async def watch_wfes(self) -> AsyncIterator[WatchEvent]:
        """RELISTED with every WFE, then each change; re-lists after a broken or expired stream."""
        while True:
            try:
                items, version = await self.list_wfes()
                yield WatchEvent("RELISTED", items)
                resume = _Resume(version)
                while resume.version:
                    async for event in self._stream(resume):
                        yield event
            except (httpx.HTTPError, ValueError, KeyError):
                await asyncio.sleep(0.5)

    async def _stream(self, resume: _Resume) -> AsyncIterator[WatchEvent]:
        """One watch request from `resume.version`, which it advances; it clears it on 410 Gone
        or an ERROR event, so that the caller re-lists."""
        params = {
            "watch": "1",
            "resourceVersion": resume.version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(WATCH_SECONDS),
        }
        timeout = httpx.Timeout(10.0, read=WATCH_SECONDS + 15)
        async with self._client.stream(
            "GET", WFE_COLLECTION, params=params, timeout=timeout
        ) as response:
            if response.status_code != 200:
                resume.version = ""
                return
            async for line in response.aiter_lines():
                if not line.strip():
                    continue
                event = json.loads(line)
                kind, obj = event.get("type"), event.get("object") or {}
                if kind == "ERROR":
                    resume.version = ""
                    return
                resume.version = (obj.get("metadata") or {}).get(
                    "resourceVersion"
                ) or resume.version
                if kind in ("ADDED", "MODIFIED", "DELETED"):
                    yield WatchEvent(kind, [obj])


@dataclass
class _Resume:
    version: str
