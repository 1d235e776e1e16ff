"""The controller's writes to a WorkflowExecution: finalizer and status (optimistic concurrency
through `metadata.resourceVersion`); a 409 refreshes the cache and asks for a re-run. Events go
through `reconcile.events.EventPoster`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog

from kubernaut_wfe.adapters.kube import (
    WORKFLOW_EXECUTIONS,
    Conflict,
    KubeClient,
    NotFound,
)
from kubernaut_wfe.constants import FINALIZER
from kubernaut_wfe.core.models import WorkflowExecution, WorkflowExecutionStatus
from kubernaut_wfe.reconcile.cache import ObjectCache
from kubernaut_wfe.reconcile.status import merge_patch, status_document

logger = structlog.get_logger("kubernaut_wfe.controller")


class RereadNeeded(Exception):  # noqa: N818 - a signal, not an error
    """A write met a newer object (409): the cache was refreshed; reconcile again now."""


class WfeWriter:
    """Writes that keep the cache in step with what the API server answered."""

    def __init__(self, kube: KubeClient, cache: ObjectCache) -> None:
        self._kube = kube
        self._cache = cache

    async def set_finalizer(self, raw: Mapping[str, Any], *, add: bool) -> dict[str, Any]:
        """Add or remove our finalizer (only on the version `raw` shows)."""
        meta = raw.get("metadata") or {}
        finalizers = [item for item in meta.get("finalizers") or [] if item != FINALIZER]
        if add:
            finalizers.append(FINALIZER)
        return await self._patch_metadata(raw, {"finalizers": finalizers})

    async def set_annotations(
        self, raw: Mapping[str, Any], annotations: Mapping[str, str]
    ) -> dict[str, Any]:
        """Merge these annotations into the WFE (only on the version `raw` shows)."""
        return await self._patch_metadata(raw, {"annotations": dict(annotations)})

    async def _patch_metadata(
        self, raw: Mapping[str, Any], fields: Mapping[str, Any]
    ) -> dict[str, Any]:
        meta = raw.get("metadata") or {}
        patch = {"metadata": {"resourceVersion": meta.get("resourceVersion"), **fields}}
        try:
            updated = await self._kube.patch(
                WORKFLOW_EXECUTIONS, str(meta.get("name")), patch, str(meta.get("namespace"))
            )
        except Conflict:
            await self.reread(raw)
            raise RereadNeeded from None
        self._cache.store_wfe(updated, owned=True)
        return updated

    async def reread(self, raw: Mapping[str, Any]) -> None:
        """Refresh the cached WFE from the API (NotFound when it is gone)."""
        meta = raw.get("metadata") or {}
        name, namespace = str(meta.get("name")), str(meta.get("namespace"))
        fresh = await self._kube.get(WORKFLOW_EXECUTIONS, name, namespace)
        if fresh is None:
            self._cache.drop_wfe((namespace, name), str(meta.get("uid") or "") or None)
            raise NotFound(404, "NotFound", f"{namespace}/{name} is gone")
        self._cache.store_wfe(fresh, owned=True)

    async def patch_status(
        self, raw: Mapping[str, Any], wfe: WorkflowExecution, status: WorkflowExecutionStatus
    ) -> dict[str, Any]:
        """Merge-patch `/status` from the WFE's current status to `status`."""
        patch = {
            "metadata": {"resourceVersion": wfe.metadata.resource_version},
            "status": merge_patch(status_document(wfe.status, wfe), status_document(status, wfe)),
        }
        try:
            written = await self._kube.patch(
                WORKFLOW_EXECUTIONS,
                wfe.metadata.name,
                patch,
                wfe.metadata.namespace,
                subresource="status",
            )
        except Conflict:
            await self.reread(raw)
            raise RereadNeeded from None
        self._cache.store_wfe(written, owned=True)
        return written
