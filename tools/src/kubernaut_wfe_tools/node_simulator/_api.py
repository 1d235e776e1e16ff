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
JSON_PATCH: Final = "application/json-patch+json"
LEASES: Final = f"/apis/coordination.k8s.io/v1/namespaces/{NODE_LEASE_NAMESPACE}/leases"

__all__ = ["ApiError", "CoreApi", "GoneError", "NotFoundError", "RefusedError", "refusal"]


def pods_path(namespace: str | None) -> str:
    return f"/api/v1/namespaces/{namespace}/pods" if namespace else "/api/v1/pods"


def pod_path(namespace: str, name: str) -> str:
    return f"{pods_path(namespace)}/{name}"


def jobs_path(namespace: str | None) -> str:
    if namespace:
        return f"/apis/batch/v1/namespaces/{namespace}/jobs"
    return "/apis/batch/v1/jobs"


class RefusedError(ApiError):
    """Any other failure, with the message of the API server's `Status`."""

    def __init__(self, status: int, method: str, path: str, body: str) -> None:
        super().__init__(status, method, path, body)
        try:
            document = json.loads(body)
        except ValueError:
            document = None
        message = document.get("message") if isinstance(document, dict) else None
        self.message = message if isinstance(message, str) else body[:500]


def refusal(error: ApiError) -> str:
    """What the API server said when it refused a request (as a controller's Event quotes it)."""
    return error.message if isinstance(error, RefusedError) else str(error)


def _raise_for(status: int, method: str, path: str, body: str) -> None:
    error = {404: NotFoundError, 410: GoneError}.get(status, RefusedError)
    raise error(status, method, path, body)


class CoreApi:
    """What a kubelet reads and writes: pods (binding, status, deletion), Events, its Node and
    Lease, and the Secrets and ConfigMaps its volumes name; and what the Job controller reads
    and writes: Jobs (their status) and their pods."""

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

    def watch_pods(
        self, namespace: str | None, selector: str, resource_version: str
    ) -> AsyncIterator[dict[str, Any]]:
        """Yield pod watch events (`{"type", "object"}`) until the server closes the stream."""
        return self.watch(pods_path(namespace), selector, resource_version)

    async def create_pod(self, namespace: str, pod: Mapping[str, Any]) -> dict[str, Any]:
        return await self.request("POST", pods_path(namespace), body=pod)

    async def delete_pod(self, namespace: str, name: str) -> None:
        """DELETE with the pod's own grace period, as a controller deletes a pod."""
        await self.request("DELETE", pod_path(namespace, name))

    async def patch_pod(self, namespace: str, name: str, patch: list[dict[str, Any]]) -> None:
        """Apply a JSON patch to the pod (its metadata: a finalizer taken off)."""
        path = pod_path(namespace, name)
        await self.request("PATCH", path, body=patch, content_type=JSON_PATCH)

    # --- Jobs ---------------------------------------------------------------------------------

    async def list_jobs(self, namespace: str | None, selector: str) -> dict[str, Any]:
        return await self.request("GET", jobs_path(namespace), params={"labelSelector": selector})

    async def get_job(self, namespace: str, name: str) -> dict[str, Any]:
        return await self.request("GET", f"{jobs_path(namespace)}/{name}")

    async def replace_job_status(self, job: Mapping[str, Any]) -> dict[str, Any]:
        """PUT the Job (its `resourceVersion` guards against a stale read) to `jobs/status`."""
        meta = job["metadata"]
        path = f"{jobs_path(meta['namespace'])}/{meta['name']}/status"
        return await self.request("PUT", path, body=job)

    def watch_jobs(
        self, namespace: str | None, selector: str, resource_version: str
    ) -> AsyncIterator[dict[str, Any]]:
        return self.watch(jobs_path(namespace), selector, resource_version)

    # --- watches ------------------------------------------------------------------------------

    async def watch(
        self, path: str, selector: str, resource_version: str
    ) -> AsyncIterator[dict[str, Any]]:
        """Yield the watch events (`{"type", "object"}`) of a collection until the server closes
        the stream."""
        params = {
            "watch": "true",
            "labelSelector": selector,
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(WATCH_TIMEOUT_SECONDS),
        }
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

    async def get_object(self, plural: str, namespace: str, name: str) -> dict[str, Any] | None:
        """A core object a pod's volume or environment names (None when it does not exist)."""
        try:
            return await self.request("GET", f"/api/v1/namespaces/{namespace}/{plural}/{name}")
        except NotFoundError:
            return None

    async def request_token(
        self,
        namespace: str,
        service_account: str,
        *,
        audience: str | None,
        expiration_seconds: int,
        pod: tuple[str, str],
    ) -> str:
        """A ServiceAccount token bound to the pod (name, uid), through TokenRequest, as the
        kubelet gets one for a projected `serviceAccountToken` volume."""
        spec: dict[str, Any] = {
            "expirationSeconds": expiration_seconds,
            "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": pod[0], "uid": pod[1]},
        }
        if audience:
            spec["audiences"] = [audience]
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}
        path = f"/api/v1/namespaces/{namespace}/serviceaccounts/{service_account}/token"
        answer = await self.request("POST", path, body=body)
        return str(answer["status"]["token"])

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
