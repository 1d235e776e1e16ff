"""The controller's async client of the Kubernetes API (everything but kopf's own watches;
kopf offers no public client for requests of our own).

One `KubeClient` (one `aiohttp.ClientSession`, one connection pool) lives in kopf's event loop.
Transient failures (5xx, 429, timeouts, broken connections) are retried here with bounded,
jittered backoff; everything else, 409 included, is raised for the caller to decide.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal, Self

import aiohttp
import structlog

from kubernaut_wfe.adapters.kube_connection import KubeConnection
from kubernaut_wfe.adapters.kube_errors import (
    AlreadyExists,
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    StatusCause,
    Transient,
    Unauthorized,
)
from kubernaut_wfe.adapters.kube_events import build_event
from kubernaut_wfe.adapters.kube_http import DEFAULT_TIMEOUT, Answer, ApiSession, JsonObject
from kubernaut_wfe.adapters.kube_resources import (
    CONFIG_MAPS,
    CUSTOM_RESOURCE_DEFINITIONS,
    EVENTS,
    JOBS,
    LEASES,
    NAMESPACES,
    PIPELINE_RUNS,
    PODS,
    RUN_RESOURCES,
    SERVICE_ACCOUNTS,
    TASK_RUNS,
    WORKFLOW_EXECUTIONS,
    Resource,
)
from kubernaut_wfe.adapters.permissions import Permission
from kubernaut_wfe.adapters.retry import RetryPolicy

__all__ = [
    "CONFIG_MAPS",
    "CUSTOM_RESOURCE_DEFINITIONS",
    "EVENTS",
    "JOBS",
    "LEASES",
    "NAMESPACES",
    "PIPELINE_RUNS",
    "PODS",
    "RUN_RESOURCES",
    "SERVICE_ACCOUNTS",
    "TASK_RUNS",
    "WORKFLOW_EXECUTIONS",
    "AlreadyExists",
    "ApiError",
    "BadRequest",
    "Conflict",
    "Forbidden",
    "Gone",
    "Invalid",
    "JsonObject",
    "KubeClient",
    "KubeConnection",
    "NotFound",
    "Resource",
    "RetryPolicy",
    "StatusCause",
    "Transient",
    "Unauthorized",
]

ObjectList = list[JsonObject]
MissingPermissions = list[tuple[Permission, str]]
"""Both spelled here: inside `KubeClient`, `list` names its method."""
PatchType = Literal["merge", "json"]
Propagation = Literal["Background", "Foreground", "Orphan"]

PATCH_CONTENT_TYPES: Mapping[PatchType, str] = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
}
EVENT_COMPONENT = "workflowexecution-controller"
ACCESS_REVIEW_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"

logger = structlog.get_logger(__name__)


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def _default_instance() -> str:
    return os.environ.get("POD_NAME") or socket.gethostname()


def _typed_items(resource: Resource, page: Mapping[str, Any]) -> list[JsonObject]:
    items: list[JsonObject] = page.get("items") or []
    for item in items:
        item.setdefault("apiVersion", resource.api_version)
        item.setdefault("kind", resource.kind)
    return items


async def _events(path: str, lines: AsyncIterator[bytes]) -> AsyncIterator[JsonObject]:
    async for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            event = None
        if not isinstance(event, dict):
            raise ApiError(200, "InvalidResponse", f"watch {path}: an event is not a JSON object")
        yield event


def _uid(item: Mapping[str, Any]) -> str | None:
    uid = (item.get("metadata") or {}).get("uid")
    return str(uid) if uid else None


class KubeClient:
    """Typed calls of the Kubernetes REST API, with retries of transient failures.

    A call on a namespaced resource without a namespace uses the body's namespace (for writes),
    else the configured one; `list` is the exception: there it means all namespaces.
    """

    def __init__(
        self,
        connection: KubeConnection,
        *,
        retry: RetryPolicy | None = None,
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        now: Callable[[], datetime] = _wall_clock,
        reporting_instance: str | None = None,
    ) -> None:
        """Build the client (`sleep`, `rng` and `now` are for tests)."""
        self.connection = connection
        self._now = now
        self._instance = reporting_instance or _default_instance()
        self._session = ApiSession(
            connection,
            retry=retry or RetryPolicy(),
            timeout=timeout,
            sleep=sleep,
            rng=rng or random.Random(),  # noqa: S311 - jitter, not cryptography
            now=now,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection pool."""
        await self._session.close()

    async def answer_once(self, path: str) -> Answer:
        """One GET of `path`, never retried (see `ApiSession.answer_once`)."""
        return await self._session.answer_once(path)

    async def get(
        self, resource: Resource, name: str, namespace: str | None = None
    ) -> JsonObject | None:
        """The object, or None if it does not exist."""
        path = resource.path(self._namespace(resource, namespace), name)
        try:
            return await self._session.request("GET", path)
        except NotFound:
            return None

    async def discovery(self, path: str) -> JsonObject:
        """A discovery document (`/api/v1`, `/apis`, `/apis/<group>/<version>`). Every
        authenticated user may read them (the default `system:discovery` role), so no refusal
        of one is recorded as a permission the controller's role lacks."""
        return await self._session.request("GET", path, track_permission=False)

    async def list(
        self,
        resource: Resource,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int | None = None,
    ) -> list[JsonObject]:
        """Every matching object, following `continue` tokens; `limit` is the page size.

        Unlike the other calls, no namespace means all namespaces. Items carry `apiVersion` and
        `kind` (the API leaves them out of list items).
        """
        path = resource.path(namespace)
        params: dict[str, str] = {}
        if label_selector:
            params["labelSelector"] = label_selector
        if field_selector:
            params["fieldSelector"] = field_selector
        if limit is not None:
            params["limit"] = str(limit)
        items: list[JsonObject] = []
        while True:
            try:
                page = await self._session.request("GET", path, params=params)
            except Gone:
                if "continue" not in params:
                    raise
                # The continue token expired mid-way: take the rest as one unpaged list, as
                # client-go's pager does, keeping the items already seen out of it.
                return await self._relist_unpaged(resource, path, params, items)
            items += _typed_items(resource, page)
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return items
            params["continue"] = token

    async def _relist_unpaged(
        self,
        resource: Resource,
        path: str,
        params: Mapping[str, str],
        seen: Sequence[JsonObject],
    ) -> ObjectList:
        unpaged = {key: value for key, value in params.items() if key not in {"continue", "limit"}}
        page = await self._session.request("GET", path, params=unpaged)
        seen_uids = {_uid(item) for item in seen}
        return [
            *seen,
            *(item for item in _typed_items(resource, page) if _uid(item) not in seen_uids),
        ]

    @contextlib.asynccontextmanager
    async def watch(
        self,
        resource: Resource,
        namespace: str | None = None,
        *,
        field_selector: str | None = None,
        timeout_seconds: int,
        read_timeout: float,
    ) -> AsyncIterator[AsyncIterator[JsonObject]]:
        """One watch request (with BOOKMARKs): entered once the API server has accepted it,
        then its events as they arrive, until the server ends it after `timeout_seconds`; an
        event (or the end) must come within `read_timeout` seconds. No namespace means all
        namespaces. Every failure is ApiError; opening the watch again is the caller's."""
        params = {
            "watch": "true",
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(timeout_seconds),
        }
        if field_selector:
            params["fieldSelector"] = field_selector
        path = resource.path(namespace)
        async with self._session.stream(path, params, read_timeout=read_timeout) as lines:
            yield _events(path, lines)

    async def create(
        self, resource: Resource, body: Mapping[str, Any], namespace: str | None = None
    ) -> JsonObject:
        """CREATE `body`; the namespace defaults to the body's, then the configured one."""
        path = resource.path(self._namespace(resource, namespace, body))
        return await self._session.request("POST", path, body=body)

    async def replace(
        self,
        resource: Resource,
        body: Mapping[str, Any],
        namespace: str | None = None,
        *,
        subresource: str | None = None,
    ) -> JsonObject:
        """PUT `body` (its `metadata.resourceVersion`, if any, guards against lost updates)."""
        name = (body.get("metadata") or {}).get("name")
        if not name:
            raise ValueError("replace needs body.metadata.name")
        path = resource.path(self._namespace(resource, namespace, body), name, subresource)
        return await self._session.request("PUT", path, body=body)

    async def patch(
        self,
        resource: Resource,
        name: str,
        patch: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        namespace: str | None = None,
        *,
        subresource: str | None = None,
        patch_type: PatchType = "merge",
    ) -> JsonObject:
        """PATCH with a JSON merge patch (a mapping) or a JSON patch (a list of operations)."""
        path = resource.path(self._namespace(resource, namespace), name, subresource)
        return await self._session.request(
            "PATCH", path, body=patch, content_type=PATCH_CONTENT_TYPES[patch_type]
        )

    async def delete(
        self,
        resource: Resource,
        name: str,
        namespace: str | None = None,
        *,
        uid: str | None = None,
        resource_version: str | None = None,
        propagation: Propagation = "Background",
    ) -> JsonObject | None:
        """DELETE, only if the object still has `uid`/`resource_version` (else 409 Conflict).

        Returns the API's answer (the object, or a Status), or None if it was already gone.
        """
        options: JsonObject = {
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "propagationPolicy": propagation,
        }
        preconditions = {
            key: value
            for key, value in (("uid", uid), ("resourceVersion", resource_version))
            if value is not None
        }
        if preconditions:
            options["preconditions"] = preconditions
        path = resource.path(self._namespace(resource, namespace), name)
        try:
            return await self._session.request("DELETE", path, body=options)
        except NotFound:
            return None

    async def create_event(
        self,
        involved: Mapping[str, Any],
        *,
        type: str,
        reason: str,
        message: str,
        action: str | None = None,
        component: str = EVENT_COMPONENT,
    ) -> JsonObject | None:
        """Post a core v1 Event about `involved` (an object as read from the API).

        None if a retried CREATE found that an earlier, timed-out attempt had already landed.
        """
        event = build_event(
            involved,
            type=type,
            reason=reason,
            message=message,
            action=action,
            component=component,
            instance=self._instance,
            now=self._now(),
            suffix=secrets.token_hex(8),
        )
        try:
            return await self.create(EVENTS, event)
        except AlreadyExists:
            return None

    async def _allowed(self, permission: Permission) -> bool | None:
        """The API server's SelfSubjectAccessReview of `permission` (None: no answer)."""
        try:
            review = await self._session.request(
                "POST", ACCESS_REVIEW_PATH, body=permission.access_review(), track_permission=False
            )
        except ApiError:
            return None
        return (review.get("status") or {}).get("allowed") is True

    async def review_permissions(self, permissions: Iterable[Permission]) -> tuple[Permission, ...]:
        """Ask the API server (SelfSubjectAccessReview) about permissions used by requests that
        are not made through this client (kopf's watches); each one not granted is recorded as
        a refused request's would be (log line, readiness) and returned."""
        refused: tuple[Permission, ...] = ()
        for permission in permissions:
            if await self._allowed(permission) is not False:
                continue  # granted, or cannot tell: the request itself will say
            refused += (permission,)
            message = f"the API server's access review does not allow: {permission}"
            if self._session.permissions.denied(permission, message):
                logger.error(
                    "missing permission: the controller's role must grant it",
                    permission=str(permission),
                    message=message,
                )
        return refused

    async def missing_permissions(self) -> MissingPermissions:
        """The permissions the API server refused and that have not worked since, each with the
        server's message. Each is first asked of the server again (SelfSubjectAccessReview), so a
        role fixed in the meantime clears at once."""
        ledger = self._session.permissions
        for permission in ledger.missing():
            # Cannot tell (None): kept until the request itself works.
            if await self._allowed(permission) and ledger.granted(permission):
                logger.info("permission granted again", permission=str(permission))
        return [(permission, ledger.message(permission)) for permission in ledger.missing()]

    def _namespace(
        self, resource: Resource, namespace: str | None, body: Mapping[str, Any] | None = None
    ) -> str | None:
        if not resource.namespaced:
            return namespace  # Resource.path rejects a namespace given for a cluster-scoped type
        if namespace:
            return namespace
        from_body = ((body or {}).get("metadata") or {}).get("namespace")
        return str(from_body) if from_body else self.connection.namespace
