"""The Kubernetes API calls the node stand-in makes, over httpx: the only HTTP code here."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any, Final

import httpx

from kubernaut_wfe_tools.node_simulator.vocabulary import NODE_LEASE_NAMESPACE
from kubernaut_wfe_tools.tekton_simulator._api import (
    RETRY_AFTER_ATTEMPTS,
    WATCH_TIMEOUT_SECONDS,
    ApiError,
    GoneError,
    NotFoundError,
    retry_after,
)

STRATEGIC_MERGE_PATCH: Final = "application/strategic-merge-patch+json"
MERGE_PATCH: Final = "application/merge-patch+json"
LEASES: Final = f"/apis/coordination.k8s.io/v1/namespaces/{NODE_LEASE_NAMESPACE}/leases"

__all__ = ["ApiError", "CoreApi", "GoneError", "NotFoundError"]


def pods_path(namespace: str | None) -> str:
    return f"/api/v1/namespaces/{namespace}/pods" if namespace else "/api/v1/pods"


def pod_path(namespace: str, name: str) -> str:
    return f"{pods_path(namespace)}/{name}"


def _raise_for(status: int, method: str, path: str, body: str) -> None:
    error = {404: NotFoundError, 410: GoneError}.get(status, ApiError)
    raise error(status, method, path, body)


class CoreApi:
    """What a kubelet reads and writes: pods (binding, status, deletion), Events, its Node and
    Lease, and the Secrets and ConfigMaps its volumes name."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        content_type: str = "application/json",
        params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """One call, sent again as client-go does when the server asks (429/5xx Retry-After)."""
        content = None if body is None else json.dumps(body)
        headers = {"Content-Type": content_type}
        for attempt in range(1, RETRY_AFTER_ATTEMPTS + 1):
            response = await self._client.request(
                method, path, content=content, headers=headers, params=params
            )
            wait = retry_after(response)
            if wait is None or attempt == RETRY_AFTER_ATTEMPTS:
                break
            await asyncio.sleep(wait)
        if response.status_code >= 400:
            _raise_for(response.status_code, method, path, response.text)
        result: dict[str, Any] = response.json()
        return result

    # --- pods ---------------------------------------------------------------------------------

    async def list_pods(self, namespace: str | None, selector: str) -> dict[str, Any]:
        return await self.request("GET", pods_path(namespace), params={"labelSelector": selector})

    async def get_pod(self, namespace: str, name: str) -> dict[str, Any]:
        return await self.request("GET", pod_path(namespace, name))

    async def bind(self, namespace: str, name: str, binding: Mapping[str, Any]) -> None:
        await self.request("POST", f"{pod_path(namespace, name)}/binding", body=binding)

    async def patch_pod_status(
        self, namespace: str, name: str, uid: str, status: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Strategic-merge `status` into the pod's, through `pods/status`, as the kubelet's
        status manager does; the uid in the patch makes it fail on a re-created pod."""
        body = {"metadata": {"uid": uid}, "status": status}
        path = f"{pod_path(namespace, name)}/status"
        return await self.request("PATCH", path, body=body, content_type=STRATEGIC_MERGE_PATCH)

    async def delete_pod_now(self, namespace: str, name: str, uid: str) -> None:
        """DELETE with grace period 0 and a uid precondition: a kubelet's last word on a pod
        whose containers are all stopped."""
        body = {"gracePeriodSeconds": 0, "preconditions": {"uid": uid}}
        await self.request("DELETE", pod_path(namespace, name), body=body)

    async def watch_pods(
        self, namespace: str | None, selector: str, resource_version: str
    ) -> AsyncIterator[dict[str, Any]]:
        """Yield pod watch events (`{"type", "object"}`) until the server closes the stream."""
        params = {
            "watch": "true",
            "labelSelector": selector,
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(WATCH_TIMEOUT_SECONDS),
        }
        path = pods_path(namespace)
        async with self._client.stream("GET", path, params=params, timeout=None) as response:
            if response.status_code >= 400:
                body = (await response.aread()).decode(errors="replace")
                _raise_for(response.status_code, "WATCH", path, body)
            async for line in response.aiter_lines():
                if line.strip():
                    event: dict[str, Any] = json.loads(line)
                    yield event

    # --- what volumes name --------------------------------------------------------------------

    async def exists(self, plural: str, namespace: str, name: str) -> bool:
        """Whether a core object (a Secret, a ConfigMap) exists: what the kubelet finds."""
        try:
            await self.request("GET", f"/api/v1/namespaces/{namespace}/{plural}/{name}")
        except NotFoundError:
            return False
        return True

    # --- Events -------------------------------------------------------------------------------

    async def create_event(self, namespace: str, event: Mapping[str, Any]) -> dict[str, Any]:
        return await self.request("POST", f"/api/v1/namespaces/{namespace}/events", body=event)

    async def patch_event(self, namespace: str, name: str, patch: Mapping[str, Any]) -> None:
        path = f"/api/v1/namespaces/{namespace}/events/{name}"
        await self.request("PATCH", path, body=patch, content_type=STRATEGIC_MERGE_PATCH)

    # --- the node -----------------------------------------------------------------------------

    async def server_version(self) -> str:
        """The API server's `gitVersion` (`v1.36.3`): a kubelet runs the same release."""
        return str((await self.request("GET", "/version")).get("gitVersion", ""))

    async def get_node(self, name: str) -> dict[str, Any]:
        return await self.request("GET", f"/api/v1/nodes/{name}")

    async def create_node(self, node: Mapping[str, Any]) -> dict[str, Any]:
        return await self.request("POST", "/api/v1/nodes", body=node)

    async def patch_node_status(self, name: str, status: Mapping[str, Any]) -> None:
        path = f"/api/v1/nodes/{name}/status"
        await self.request(
            "PATCH", path, body={"status": status}, content_type=STRATEGIC_MERGE_PATCH
        )

    async def delete_node(self, name: str) -> None:
        await self.request("DELETE", f"/api/v1/nodes/{name}")

    async def put_lease(self, lease: Mapping[str, Any]) -> None:
        """Create the node's Lease, or replace it when it exists (a renewal)."""
        name = lease["metadata"]["name"]
        try:
            await self.request("POST", LEASES, body=lease)
        except ApiError as error:
            if error.reason != "AlreadyExists":
                raise
            owners = lease["metadata"]["ownerReferences"]
            patch = {"metadata": {"ownerReferences": owners}, "spec": lease["spec"]}
            await self.request("PATCH", f"{LEASES}/{name}", body=patch, content_type=MERGE_PATCH)

    async def renew_lease(self, name: str, renew_time: str) -> None:
        patch = {"spec": {"renewTime": renew_time}}
        await self.request("PATCH", f"{LEASES}/{name}", body=patch, content_type=MERGE_PATCH)

    async def delete_lease(self, name: str) -> None:
        await self.request("DELETE", f"{LEASES}/{name}")
