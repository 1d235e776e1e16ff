"""Hands due audit events to delivery and collects their outcomes for the status write.

`verify_first` (ask DataStorage before sending) is set for every event this process did not make
due itself: after a restart an event in status may already be stored.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from kubernaut_wfe.adapters.audit_delivery import AuditDelivery
from kubernaut_wfe.constants import AuditEventType, DataStorageContract
from kubernaut_wfe.core.audit import DueAuditEvent, undelivered_audit_events
from kubernaut_wfe.core.models import WorkflowExecution
from kubernaut_wfe.core.observation import AuditWait
from kubernaut_wfe.datastorage.events import build_audit_event
from kubernaut_wfe.datastorage.models import AuditEventRequest
from kubernaut_wfe.reconcile.memory import WfeMemory


class AuditHandoff:
    """The reconciler's side of audit delivery (a no-op without delivery)."""

    def __init__(
        self,
        delivery: AuditDelivery | None,
        memory: WfeMemory,
        contract: DataStorageContract = DataStorageContract.AUGUST_2026,
    ) -> None:
        self._delivery = delivery
        self._memory = memory
        self._contract = contract

    def take_outcomes(self, uid: str) -> tuple[set[AuditEventType], dict[AuditEventType, str]]:
        """Acknowledged and rejected event types since the last call."""
        if self._delivery is None:
            return set(), {}
        return self._delivery.take_outcomes(uid)

    def hand_over(self, before: WorkflowExecution, current: WorkflowExecution) -> bool:
        """Submit every undelivered due event of `current`; True when any is owed.

        Events that `before` did not owe were made due by this process's own write just now.
        """
        owed = undelivered_audit_events(current)
        if self._delivery is None or not owed:
            return bool(owed)
        facts = self._memory.of(current.metadata.uid)
        already_owed = {event.event_type for event in undelivered_audit_events(before)}
        newly_due = before is not current and before.status != current.status
        for event, request in zip(owed, self.requests(current, owed), strict=True):
            fresh = newly_due and event.event_type not in already_owed
            verify = event.event_type not in facts.submitted and not fresh
            if self._delivery.submit(current.metadata.uid, request, verify_first=verify):
                facts.submitted |= {event.event_type}
        return True

    def requests_for(
        self, wfe: WorkflowExecution, types: Collection[AuditEventType]
    ) -> list[AuditEventRequest]:
        """The DataStorage requests of the due events of `wfe` among `types` (the same bodies,
        timestamps included, as delivery was given)."""
        owed = [event for event in undelivered_audit_events(wfe) if event.event_type in types]
        return self.requests(wfe, owed)

    def requests(
        self, wfe: WorkflowExecution, owed: Sequence[DueAuditEvent]
    ) -> list[AuditEventRequest]:
        return [
            build_audit_event(event.event_type, wfe, at=event.timestamp, contract=self._contract)
            for event in owed
        ]

    def start_wait(self, wfe: WorkflowExecution, now: datetime) -> AuditWait:
        """Hand a deleted WFE's due events to delivery and start the wait for them (once per
        process: the wait counts from the first hand-over)."""
        self.hand_over(wfe, wfe)
        facts = self._memory.of(wfe.metadata.uid)
        if facts.audit_wait_since is None:
            facts.audit_wait_since = now
        return self._wait(wfe.metadata.uid, facts.audit_wait_since)

    def wait_of(self, uid: str) -> AuditWait | None:
        """The deleted WFE's wait for its audit events, if it started."""
        facts = self._memory.known(uid)
        if facts is None or facts.audit_wait_since is None:
            return None
        return self._wait(uid, facts.audit_wait_since)

    def _wait(self, uid: str, since: datetime) -> AuditWait:
        pending = self._delivery.pending_for(uid) if self._delivery is not None else set()
        return AuditWait(since, frozenset(pending))
