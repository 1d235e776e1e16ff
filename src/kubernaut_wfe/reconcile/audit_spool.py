"""The audit spool (see `core.audit_spool`): parks a deleted WFE's unacknowledged audit events in
a ConfigMap before its finalizer goes, sends them again after a restart (asking DataStorage
first, so none is stored twice), and removes the ConfigMap once DataStorage has settled them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import structlog
from pydantic import ValidationError

from kubernaut_wfe.adapters.audit_delivery import AuditDelivery
from kubernaut_wfe.adapters.kube import CONFIG_MAPS, AlreadyExists, ApiError, KubeClient
from kubernaut_wfe.core.audit_spool import SELECTOR, SpoolError, read_spool, spool_document
from kubernaut_wfe.core.models import WorkflowExecution
from kubernaut_wfe.datastorage.events import serialize_audit_event
from kubernaut_wfe.datastorage.models import AuditEventRequest

logger = structlog.get_logger(__name__)

DELETE_ATTEMPTS = 5


class AuditSpool:
    """The spool in `namespace` (the controller's own), fed back into `delivery`."""

    def __init__(self, kube: KubeClient, delivery: AuditDelivery, namespace: str) -> None:
        self._kube = kube
        self._delivery = delivery
        self.namespace = namespace
        self._parked: dict[str, str] = {}
        """The ConfigMap of each WFE (uid) whose spooled events are not all settled yet."""
        self._removals: set[asyncio.Task[None]] = set()

    async def park(self, wfe: WorkflowExecution, events: Sequence[AuditEventRequest]) -> None:
        """Keep `events` of the deleted `wfe` in the API (before its finalizer goes). Raises
        ApiError when the ConfigMap cannot be written: the finalizer must then stay."""
        uid = wfe.metadata.uid or ""
        document = spool_document(
            self.namespace,
            uid,
            f"{wfe.metadata.namespace}/{wfe.metadata.name}",
            [serialize_audit_event(event) for event in events],
        )
        # AlreadyExists: parked by an earlier attempt or process, with the same due events.
        with contextlib.suppress(AlreadyExists):
            await self._kube.create(CONFIG_MAPS, document, self.namespace)
        self._parked[uid] = document["metadata"]["name"]
        logger.info(
            "audit events spooled until DataStorage takes them",
            wfe_uid=uid,
            configmap=f"{self.namespace}/{document['metadata']['name']}",
            events=[event.event_type for event in events],
        )
        if not self._delivery.pending_for(uid):
            self.on_settled(uid)  # DataStorage answered meanwhile

    async def recover(self) -> int:
        """Hand every spooled event to delivery (DataStorage is asked first whether it has it);
        the number of spools found. A spool that cannot be read is logged and left alone."""
        try:
            found = await self._kube.list(CONFIG_MAPS, self.namespace, label_selector=SELECTOR)
        except ApiError as error:
            # A refused list is also a missing permission on /readyz; the spool stays for the
            # next start.
            logger.error("the audit spool could not be read", error=str(error))
            return 0
        for document in found:
            try:
                spooled = read_spool(document)
                events = [AuditEventRequest.model_validate(event) for event in spooled.events]
            except (SpoolError, ValidationError) as error:
                logger.error("unreadable audit spool left in place", error=str(error))
                continue
            self._parked[spooled.wfe_uid] = spooled.name
            for event in events:
                self._delivery.submit(spooled.wfe_uid, event, verify_first=True)
            logger.info(
                "spooled audit events handed to delivery",
                wfe=spooled.wfe,
                configmap=f"{self.namespace}/{spooled.name}",
                events=len(events),
            )
            if not self._delivery.pending_for(spooled.wfe_uid):
                self.on_settled(spooled.wfe_uid)
        return len(found)

    def on_settled(self, wfe_uid: str) -> None:
        """Delivery settled every event of `wfe_uid`: its spool, if any, can go."""
        name = self._parked.pop(wfe_uid, None)
        if name is None:
            return
        task = asyncio.get_running_loop().create_task(self._remove(name))
        self._removals.add(task)
        task.add_done_callback(self._removals.discard)

    async def close(self) -> None:
        """Let the removals under way finish."""
        await asyncio.gather(*self._removals, return_exceptions=True)

    async def _remove(self, name: str) -> None:
        for attempt in range(DELETE_ATTEMPTS):
            try:
                await self._kube.delete(CONFIG_MAPS, name, self.namespace)
            except ApiError as error:
                if attempt == DELETE_ATTEMPTS - 1:
                    # Left for the next start, which asks DataStorage before sending again.
                    logger.warning("audit spool not removed", configmap=name, error=str(error))
                    return
                await asyncio.sleep(2**attempt)
            else:
                logger.info("audit spool removed: DataStorage has its events", configmap=name)
                return
