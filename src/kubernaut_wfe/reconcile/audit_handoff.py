"""Hands due audit events to delivery and collects their outcomes for the status write.

`verify_first` (ask DataStorage before sending) is set for every event this process did not make
due itself: after a restart an event in status may already be stored.
"""

from __future__ import annotations

from kubernaut_wfe.adapters.audit_delivery import AuditDelivery
from kubernaut_wfe.constants import AuditEventType
from kubernaut_wfe.core.audit import undelivered_audit_events
from kubernaut_wfe.core.models import WorkflowExecution
from kubernaut_wfe.datastorage.events import build_audit_event


class AuditHandoff:
    """The reconciler's side of audit delivery (a no-op without delivery)."""

    def __init__(self, delivery: AuditDelivery | None) -> None:
        self._delivery = delivery
        self._submitted: set[tuple[str, AuditEventType]] = set()

    def forget(self, uid: str) -> None:
        """Drop memory of a deleted WFE."""
        self._submitted = {key for key in self._submitted if key[0] != uid}

    def take_outcomes(self, uid: str) -> tuple[set[AuditEventType], dict[AuditEventType, str]]:
        """Acknowledged and rejected event types since the last call."""
        if self._delivery is None:
            return set(), {}
        return self._delivery.take_outcomes(uid)

    def pending_for(self, uid: str) -> set[AuditEventType]:
        """Event types of this WFE still waiting for DataStorage."""
        return self._delivery.pending_for(uid) if self._delivery is not None else set()

    def hand_over(self, before: WorkflowExecution, current: WorkflowExecution) -> bool:
        """Submit every undelivered due event of `current`; True when any is owed.

        Events that `before` did not owe were made due by this process's own write just now.
        """
        owed = undelivered_audit_events(current)
        if self._delivery is None or not owed:
            return bool(owed)
        uid = current.metadata.uid
        already_owed = {event.event_type for event in undelivered_audit_events(before)}
        newly_due = before is not current and before.status != current.status
        for event in owed:
            key = (uid, event.event_type)
            fresh = newly_due and event.event_type not in already_owed
            verify = key not in self._submitted and not fresh
            request = build_audit_event(event.event_type, current, at=event.timestamp)
            if self._delivery.submit(uid, request, verify_first=verify):
                self._submitted.add(key)
        return True
