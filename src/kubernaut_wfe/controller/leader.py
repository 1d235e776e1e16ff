"""Leader election on a `coordination.k8s.io/v1` Lease, with client-go's semantics: acquire by
create (or by update once the holder's lease expired), renew every retry period, give up when a
renewal has not succeeded within the renew deadline, release on a graceful stop. kopf's own
peering is no substitute: it keeps its state in its own KopfPeering resources and pauses
operators of lower priority, where the chart and the platform expect client-go's Lease."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog

from kubernaut_wfe.adapters.kube import KubeClient
from kubernaut_wfe.adapters.kube_errors import ApiError
from kubernaut_wfe.adapters.kube_resources import LEASES
from kubernaut_wfe.core.config import ControllerSettings

logger = structlog.get_logger("kubernaut_wfe.leader")

MICRO_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"
DEFAULT_NAMESPACE = "kubernaut-system"


class LeaderLostError(Exception):
    """The Lease is held by someone else now, or could not be renewed in time."""


def default_identity() -> str:
    """`<hostname>_<random>`, unique per process even for pods sharing a name."""
    return f"{os.environ.get('POD_NAME') or socket.gethostname()}_{secrets.token_hex(4)}"


def election_namespace(configured: str | None, kubeconfig_namespace: str | None) -> str:
    """The configured namespace, else `POD_NAMESPACE` (downward API), else the kubeconfig's,
    else the default."""
    return (
        configured or os.environ.get("POD_NAMESPACE") or kubeconfig_namespace or DEFAULT_NAMESPACE
    )


@dataclass(frozen=True)
class LeaderElectionSettings:
    """Where the Lease lives, who we are and client-go's timings (seconds; their order is
    checked by the configuration)."""

    namespace: str
    name: str
    identity: str = field(default_factory=default_identity)
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0


def election_settings(
    config: ControllerSettings, kubeconfig_namespace: str | None
) -> LeaderElectionSettings | None:
    """The Lease's place and timings from the configuration; None without leader election."""
    if not config.leader_election:
        return None
    return LeaderElectionSettings(
        namespace=election_namespace(config.leader_election_namespace, kubeconfig_namespace),
        name=config.leader_election_id,
        lease_duration=config.leader_election_lease_duration.total_seconds(),
        renew_deadline=config.leader_election_renew_deadline.total_seconds(),
        retry_period=config.leader_election_retry_period.total_seconds(),
    )


def _micro_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(MICRO_TIME)


class LeaderElector:
    """Acquires, renews and releases one Lease for one identity."""

    def __init__(
        self,
        kube: KubeClient,
        settings: LeaderElectionSettings,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.kube = kube
        self.settings = settings
        self._monotonic = monotonic
        self._now = now
        self._observed: dict[str, Any] | None = None
        self._observed_at = 0.0
        self.is_leader = False

    @property
    def identity(self) -> str:
        """This instance's holder identity."""
        return self.settings.identity

    async def acquire(self) -> None:
        """Return once this instance holds the Lease (retrying every retry period)."""
        logger.info(
            "waiting for the leader lease",
            lease=f"{self.settings.namespace}/{self.settings.name}",
            identity=self.identity,
        )
        while True:
            if await self._try_acquire_or_renew():
                break
            await asyncio.sleep(self.settings.retry_period)
        self.is_leader = True
        logger.info("acquired the leader lease", identity=self.identity)

    async def hold(self) -> None:
        """Renew until the Lease is lost; then raise `LeaderLostError` (never returns otherwise)."""
        last_renewal = self._monotonic()
        while True:
            await asyncio.sleep(self.settings.retry_period)
            remaining = self.settings.renew_deadline - (self._monotonic() - last_renewal)
            try:
                async with asyncio.timeout(max(remaining, 0.001)):
                    renewed = await self._try_acquire_or_renew()
            except TimeoutError:
                renewed = False
            if renewed:
                last_renewal = self._monotonic()
                continue
            holder = self._holder()
            if holder and holder != self.identity:
                self.is_leader = False
                raise LeaderLostError(f"the lease is held by {holder} now")
            if self._monotonic() - last_renewal >= self.settings.renew_deadline:
                self.is_leader = False
                raise LeaderLostError("the lease could not be renewed within the renew deadline")

    async def release(self) -> None:
        """Give the Lease up so a standby takes over at once (best effort, bounded)."""
        if not self.is_leader or self._observed is None:
            return
        self.is_leader = False
        lease = dict(self._observed)
        spec = dict(lease.get("spec") or {})
        spec.update(
            holderIdentity="",
            leaseDurationSeconds=1,
            renewTime=_micro_time(self._now()),
        )
        lease["spec"] = spec
        try:
            async with asyncio.timeout(self.settings.retry_period):
                await self.kube.replace(LEASES, lease, self.settings.namespace)
            logger.info("released the leader lease", identity=self.identity)
        except (ApiError, TimeoutError) as error:
            logger.warning("could not release the leader lease", error=str(error))

    def _holder(self) -> str:
        spec = (self._observed or {}).get("spec") or {}
        return str(spec.get("holderIdentity") or "")

    async def _try_acquire_or_renew(self) -> bool:
        settings = self.settings
        moment = _micro_time(self._now())
        try:
            current = await self.kube.get(LEASES, settings.name, settings.namespace)
        except ApiError as error:
            logger.warning("cannot read the leader lease", error=str(error))
            return False
        if current is None:
            body = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": settings.name, "namespace": settings.namespace},
                "spec": {
                    "holderIdentity": self.identity,
                    "leaseDurationSeconds": round(settings.lease_duration),
                    "acquireTime": moment,
                    "renewTime": moment,
                    "leaseTransitions": 0,
                },
            }
            return await self._write(self.kube.create(LEASES, body, settings.namespace))
        self._observe(current)
        spec = dict(current.get("spec") or {})
        holder = str(spec.get("holderIdentity") or "")
        if holder and holder != self.identity and not self._expired(spec):
            return False
        if holder != self.identity:
            spec["acquireTime"] = moment
            spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + 1
        spec.update(
            holderIdentity=self.identity,
            leaseDurationSeconds=round(settings.lease_duration),
            renewTime=moment,
        )
        return await self._write(self.kube.replace(LEASES, {**current, "spec": spec}))

    async def _write(self, call: Any) -> bool:
        try:
            written = await call
        except ApiError as error:
            # A 409 means another candidate won the race; anything else is retried later.
            logger.debug("leader lease write failed", error=str(error))
            return False
        self._observed = written
        self._observed_at = self._monotonic()
        return True

    def _observe(self, lease: dict[str, Any]) -> None:
        # Expiry is judged on our own clock from when the record last changed (as client-go
        # does), never on the holder's renewTime, so skewed clocks cannot steal a lease.
        previous = (self._observed or {}).get("spec")
        if previous != lease.get("spec") or self._observed is None:
            self._observed_at = self._monotonic()
        self._observed = lease

    def _expired(self, spec: dict[str, Any]) -> bool:
        duration = float(spec.get("leaseDurationSeconds") or self.settings.lease_duration)
        return self._monotonic() > self._observed_at + duration


class Leadership:
    """The Controller's side of leader election: wait for the Lease unless stopped first, keep
    renewing it in a task, report a loss through `on_lost`, release it at the end."""

    def __init__(
        self,
        kube: KubeClient,
        settings: LeaderElectionSettings,
        on_lost: Callable[[LeaderLostError], None],
    ) -> None:
        self.elector = LeaderElector(kube, settings)
        self._on_lost = on_lost
        self._renewing: asyncio.Task[None] | None = None

    @property
    def state(self) -> str:
        """`leading` or `standby`."""
        return "leading" if self.elector.is_leader else "standby"

    async def acquire_unless(self, stopping: asyncio.Event) -> bool:
        """True once the Lease is ours (renewals then run); False if `stopping` came first."""
        acquiring = asyncio.create_task(self.elector.acquire(), name="leader-acquire")
        stopped = asyncio.create_task(stopping.wait())
        await asyncio.wait({acquiring, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if not acquiring.done():
            acquiring.cancel()
            await asyncio.gather(acquiring, return_exceptions=True)
            return False
        acquiring.result()
        self._renewing = asyncio.create_task(self._renew(), name="leader-renew")
        return True

    async def release(self) -> None:
        """Stop renewing and give the Lease up (if still ours)."""
        if self._renewing is not None:
            self._renewing.cancel()
            await asyncio.gather(self._renewing, return_exceptions=True)
        await self.elector.release()

    async def _renew(self) -> None:
        try:
            await self.elector.hold()
        except LeaderLostError as lost:
            self._on_lost(lost)
