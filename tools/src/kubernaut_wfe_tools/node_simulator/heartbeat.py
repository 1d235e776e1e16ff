"""The node's registration and heartbeat: its Node object and the Lease the kubelet renews."""

from __future__ import annotations

import contextlib
import logging
import uuid
from datetime import datetime, timedelta

import httpx

from kubernaut_wfe_tools.node_simulator._api import ApiError, CoreApi, NotFoundError
from kubernaut_wfe_tools.node_simulator.documents.node import (
    NodeIdentity,
    lease_object,
    micro_time,
    node_object,
    node_status,
)
from kubernaut_wfe_tools.tekton_simulator.clock import Clock

logger = logging.getLogger(__name__)

LEASE_RENEWAL = timedelta(seconds=10)
"""The kubelet renews its Lease every quarter of the Lease's 40 s."""
STATUS_REPORT = timedelta(minutes=5)
"""With a Lease, the kubelet reports an unchanged Node status every five minutes."""


class NodeHeartbeat:
    """Registers the node (or takes over a Node of the same name) and keeps it alive."""

    def __init__(
        self,
        api: CoreApi,
        node: NodeIdentity,
        clock: Clock,
        *,
        lease_renewal: timedelta = LEASE_RENEWAL,
        status_report: timedelta = STATUS_REPORT,
    ) -> None:
        self._api = api
        self._node = node
        self._clock = clock
        self._lease_renewal = lease_renewal
        self._status_report = status_report
        self._boot_id = str(uuid.uuid5(uuid.NAMESPACE_DNS, f"boot.{node.name}"))
        self._reported: datetime | None = None

    async def register(self) -> None:
        """Create the Node with its status (or report the status of the existing one), then
        its Lease."""
        now = self._clock.now()
        try:
            existing = await self._api.get_node(self._node.name)
        except NotFoundError:
            created = await self._api.create_node(
                node_object(self._node, boot_id=self._boot_id, at=now)
            )
            uid = created["metadata"]["uid"]
        else:
            uid = existing["metadata"]["uid"]
            await self._report(now, existing.get("status"))
        self._reported = now
        await self._api.put_lease(lease_object(self._node, uid, now))

    async def run(self) -> None:
        """Renew the Lease every `lease_renewal` and report the status every `status_report`,
        until cancelled; a failed renewal is tried again at the next one."""
        while True:
            await self._clock.sleep(self._lease_renewal.total_seconds())
            now = self._clock.now()
            try:
                await self._api.renew_lease(self._node.name, micro_time(now))
                if self._reported is None or now - self._reported >= self._status_report:
                    node = await self._api.get_node(self._node.name)
                    await self._report(now, node.get("status"))
                    self._reported = now
            except (httpx.HTTPError, ApiError) as error:
                logger.warning("node %s: heartbeat failed: %s", self._node.name, error)

    async def remove(self) -> None:
        """Delete the Lease and the Node (pods bound to it stay as they are)."""
        for delete in (self._api.delete_lease, self._api.delete_node):
            with contextlib.suppress(NotFoundError):
                await delete(self._node.name)

    async def _report(self, at: datetime, previous: object) -> None:
        status = node_status(
            self._node,
            boot_id=self._boot_id,
            at=at,
            previous=previous if isinstance(previous, dict) else None,
        )
        await self._api.patch_node_status(self._node.name, status)
