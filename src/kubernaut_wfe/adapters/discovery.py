"""API discovery: the kinds the API server serves, as the table of spellings with which the core
resolves a target to its canonical form, the per-target lock (`core.targets`).

The table is read once at start-up and again when a target names a kind it lacks (a CRD
installed since), at most once per `REFRESH_INTERVAL`. A kind counts as unknown only in a table
read after the WFE was created (`table_for`): a WFE on the kind of a CRD installed just before it
waits for the next read instead of failing. A read costs `/api/v1`, `/apis` and one request per
group (their preferred versions, in parallel), never a request per WFE, and needs no RBAC rule:
every authenticated user may read discovery (the default `system:discovery` ClusterRole).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from kubernaut_wfe.adapters.kube import ApiError, KubeClient
from kubernaut_wfe.constants import CORE_DISCOVERY_PATH, GROUPS_DISCOVERY_PATH
from kubernaut_wfe.core.targets import DiscoveredGroup, KindTable, kind_table

REFRESH_INTERVAL = timedelta(seconds=30)
"""The least time between two reads for kinds the table lacks: a stream of WFEs on a kind that
does not exist costs one read per interval, not one per WFE."""
CREATION_MARGIN = timedelta(seconds=2)
"""How much later than a WFE's creationTimestamp a read must begin to count as made after it:
the API server truncates the timestamp to the second, and its clock and ours may differ a
little."""

logger = structlog.get_logger(__name__)


def _wall_clock() -> datetime:
    return datetime.now(UTC)


def preferred_group_versions(group_list: Mapping[str, Any]) -> list[tuple[str, str]]:
    """`(group, "<group>/<version>")` of each group of an APIGroupList, in its order (the
    server's preference), at the group's preferred version (its first one when none is
    named)."""
    found = []
    for group in group_list.get("groups") or ():
        name = group.get("name")
        versions = group.get("versions") or [{}]
        preferred: Mapping[str, Any] = group.get("preferredVersion") or versions[0]
        group_version = preferred.get("groupVersion")
        if name and group_version:
            found.append((str(name), str(group_version)))
    return found


class ApiDiscovery:
    """The table of kinds (`kinds`), read through the controller's API client."""

    def __init__(
        self,
        kube: KubeClient,
        *,
        interval: timedelta = REFRESH_INTERVAL,
        now: Callable[[], datetime] = _wall_clock,
    ) -> None:
        """`now` is for tests."""
        self._kube = kube
        self._interval = interval
        self._now = now
        self._reading = asyncio.Lock()
        self._read_at: datetime | None = None
        """When the read that gave `kinds` began (None: no read has succeeded yet)."""
        self._tried_at: datetime | None = None
        """When the last read began, whether it succeeded or not."""
        self.kinds = KindTable()
        """The latest table read (empty until a read succeeded)."""

    async def load(self) -> bool:
        """Read the table now (at start-up). False when the API did not answer: the table stays
        as it was, and the WFEs that need it wait for a later read."""
        async with self._reading:
            return await self._read()

    async def table_for(self, created: datetime | None) -> KindTable | None:
        """A table read after `created` (a WFE's creationTimestamp; None: any table read): the
        current one if it is, else a new read unless the last one began less than the interval
        ago. None when there is none yet: ask again after `retry_after()`. Concurrent callers
        share one read."""
        async with self._reading:
            if self._fresh_for(created):
                return self.kinds
            if self._tried_at is not None and self._now() - self._tried_at < self._interval:
                return None
            await self._read()
            return self.kinds if self._fresh_for(created) else None

    def retry_after(self) -> timedelta:
        """How long until `table_for` may read again."""
        if self._tried_at is None:
            return timedelta(0)
        return max(timedelta(0), self._tried_at + self._interval - self._now())

    def _fresh_for(self, created: datetime | None) -> bool:
        if self._read_at is None:
            return False
        return created is None or self._read_at >= created + CREATION_MARGIN

    async def _read(self) -> bool:
        started = self._tried_at = self._now()
        try:
            core = await self._kube.discovery(CORE_DISCOVERY_PATH)
            group_list = await self._kube.discovery(GROUPS_DISCOVERY_PATH)
        except ApiError as error:
            logger.warning(
                "API discovery failed; targets are resolved with the kinds read before",
                error=str(error),
            )
            return False
        versions = preferred_group_versions(group_list)
        answers = await asyncio.gather(
            *(self._kube.discovery(f"{GROUPS_DISCOVERY_PATH}/{gv}") for _, gv in versions),
            return_exceptions=True,
        )
        groups: list[DiscoveredGroup] = [("", core.get("resources") or ())]
        unavailable = []
        for (group, _), answer in zip(versions, answers, strict=True):
            if isinstance(answer, ApiError):
                # An aggregated API that is down: its kinds are missing until it answers.
                unavailable.append(group)
            elif isinstance(answer, BaseException):
                raise answer
            else:
                groups.append((group, answer.get("resources") or ()))
        self.kinds = kind_table(groups, unavailable)
        self._read_at = started
        if unavailable:
            logger.warning("API discovery of some groups failed", groups=sorted(unavailable))
        logger.info("API discovery read", groups=len(groups), spellings=len(self.kinds.spellings))
        return True
