"""When each object appeared, first reached each `status.phase` (or had a chosen condition True),
and disappeared: a `Timeline`, fed at commit time inside the in-process emulator (`TimedWatch`)
or, on a real API server, as the events of a watch reach the benchmark (`bench.targets`)."""

from __future__ import annotations

import time
from typing import Any

from kubernaut_wfe.constants import ConditionStatus
from kubernaut_wfe_tools.emulator import ApiEmulator
from kubernaut_wfe_tools.emulator.selectors import FieldSelector, LabelSelector
from kubernaut_wfe_tools.emulator.store import ADDED, DELETED, StoredEvent, Watcher


class Timeline:
    """The `time.perf_counter()` instants of one resource's changes, by object name."""

    def __init__(self, owner_label: str | None = None, conditions: tuple[str, ...] = ()) -> None:
        """`owner_label`: note each object's value of this label in `owners` (name → value);
        `conditions`: note when each object was first seen with each of these True."""
        self._owner_label = owner_label
        self._conditions = conditions
        self.owners: dict[str, str] = {}
        self.added: dict[str, float] = {}
        self.deleted: dict[str, float] = {}
        self.phases: dict[str, dict[str, float]] = {}
        self.true_conditions: dict[str, dict[str, float]] = {}
        """Name → condition type → when first seen True (a Job has no phase: its `Complete`
        condition says that it ended)."""
        self.changes = 0
        self.restarts = 0
        """Times the watch feeding it was opened again (a real API server closes a watch that
        falls behind; the events in between arrive late)."""

    def note(self, kind: str, obj: dict[str, Any], now: float) -> None:
        """Record a watch event (`ADDED`, `MODIFIED` or `DELETED`) seen at `now`."""
        self.changes += 1
        name = str(obj["metadata"]["name"])
        if kind == ADDED:
            self.added.setdefault(name, now)
            owner = (obj["metadata"].get("labels") or {}).get(self._owner_label or "")
            if owner:
                self.owners[name] = str(owner)
        elif kind == DELETED:
            self.deleted.setdefault(name, now)
        phase = (obj.get("status") or {}).get("phase")
        if isinstance(phase, str) and phase:
            self.phases.setdefault(name, {}).setdefault(phase, now)
        if self._conditions:
            self._note_conditions(name, obj, now)

    def _note_conditions(self, name: str, obj: dict[str, Any], now: float) -> None:
        for condition in (obj.get("status") or {}).get("conditions") or ():
            kind = condition.get("type")
            if kind in self._conditions and condition.get("status") == ConditionStatus.TRUE:
                self.true_conditions.setdefault(name, {}).setdefault(str(kind), now)

    def reached(self, phase: str) -> dict[str, float]:
        """Name → time the object first reached `phase`."""
        return {name: at[phase] for name, at in self.phases.items() if phase in at}

    def became_true(self, condition: str) -> dict[str, float]:
        """Name → time the object was first seen with `condition` True."""
        return {name: at[condition] for name, at in self.true_conditions.items() if condition in at}

    def reached_any(self, phases: tuple[str, ...]) -> dict[str, float]:
        """Name → first time the object reached one of `phases`."""
        found: dict[str, float] = {}
        for name, at in self.phases.items():
            times = [at[p] for p in phases if p in at]
            if times:
                found[name] = min(times)
        return found


class TimedWatch(Watcher):
    """A watch on one resource of the emulator's store that feeds a `Timeline` at the instant
    each change is stored. It queues nothing."""

    def __init__(self, emu: ApiEmulator, resource: str, timeline: Timeline) -> None:
        super().__init__(emu.resource(resource).key, None, LabelSelector(), FieldSelector())
        self._emu = emu
        self.timeline = timeline

    def offer(self, event: StoredEvent) -> None:
        """Record the event's time (called synchronously when the store commits it)."""
        self.timeline.note(event.type, event.obj, time.perf_counter())

    def attach(self) -> TimedWatch:
        """Register with the emulator's store (from now on)."""
        self._emu.store.watch(self, since=self._emu.store.revision)
        return self

    def detach(self) -> None:
        """Unregister."""
        self._emu.store.unwatch(self)


def phase_of(obj: dict[str, Any] | None) -> str:
    """`status.phase` of an object ("" when absent)."""
    return str(((obj or {}).get("status") or {}).get("phase") or "")
