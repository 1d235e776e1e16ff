"""What the reconcile path remembers about each WFE, by uid, in one place: dropped by one
`forget` (a dictionary pop and delivery's own O(1) forget) when the WFE is deleted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kubernaut_wfe.adapters.audit_delivery import AuditDelivery
from kubernaut_wfe.constants import AuditEventType


@dataclass(slots=True)
class WfeFacts:
    """What this process learnt about one WFE that its object does not show."""

    quiet_version: str | None = None
    """The resourceVersion of the WFE's state last decided to need nothing more."""
    settled: bool = False
    """Terminal, lock released, audit done: no periodic re-check."""
    given_up: bool = False
    """Even the fallback Failed status was refused: never reconciled again."""
    run_released: bool = False
    """This controller deleted the WFE's run (the DELETE answered): no need to read it."""
    create_attempts: int = 0
    """Consecutive refused CREATEs of its run."""
    conflicts: int = 0
    """Consecutive reconciles ended by a write that met a newer object (409)."""
    account_read_failures: int = 0
    """Consecutive failed GETs of the ServiceAccount its run is to run as."""
    submitted: frozenset[AuditEventType] = frozenset()
    """Event types this process handed to delivery (a restarted one asks DataStorage first)."""
    audit_wait_since: datetime | None = None
    """When this process handed the deleted WFE's due audit events to delivery."""


class WfeMemory:
    """The facts of every WFE, by uid; see the module docstring."""

    def __init__(self, delivery: AuditDelivery | None = None) -> None:
        self._facts: dict[str, WfeFacts] = {}
        self._delivery = delivery

    def of(self, uid: str) -> WfeFacts:
        """The WFE's facts, to read or update (kept from now on)."""
        facts = self._facts.get(uid)
        if facts is None:
            facts = self._facts[uid] = WfeFacts()
        return facts

    def known(self, uid: str) -> WfeFacts | None:
        """The WFE's facts if anything is remembered of it (nothing is kept by asking)."""
        return self._facts.get(uid)

    def is_quiet(self, uid: str, resource_version: str | None) -> bool:
        """Whether this state of the WFE was already decided to need nothing more, so that a
        watch event bringing it (or an older one) again needs no reconcile."""
        facts = self._facts.get(uid)
        return (
            resource_version is not None
            and facts is not None
            and facts.quiet_version == resource_version
        )

    def is_settled(self, uid: str) -> bool:
        """Whether the WFE needs no periodic re-check (terminal, lock released, audit done)."""
        facts = self._facts.get(uid)
        return facts is not None and (facts.settled or facts.given_up)

    def forget(self, uid: str) -> None:
        """Drop everything remembered of a deleted WFE, here and in audit delivery."""
        self._facts.pop(uid, None)
        if self._delivery is not None:
            self._delivery.forget(uid)

    def __len__(self) -> int:
        return len(self._facts)
