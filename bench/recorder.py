"""Commit-time recording of watch events inside the in-process API emulator."""

from __future__ import annotations

import time
from typing import Any

from kubernaut_wfe.emulator import ApiEmulator
from kubernaut_wfe.emulator.selectors import FieldSelector, LabelSelector
from kubernaut_wfe.emulator.store import ADDED, DELETED, StoredEvent, Watcher


class TimedWatch(Watcher):
    """A watch on one resource that notes, at the instant each change is stored, when an object
    appeared, first reached each `status.phase`, and disappeared. It queues nothing."""

    def __init__(self, emu: ApiEmulator, resource: str, owner_label: str | None = None) -> None:
        """`owner_label`: note each object's value of this label in `owners` (name → value)."""
        super().__init__(emu.resource(resource).key, None, LabelSelector(), FieldSelector())
        self._emu = emu
        self._owner_label = owner_label
        self.owners: dict[str, str] = {}
        self.added: dict[str, float] = {}
        self.deleted: dict[str, float] = {}
        self.phases: dict[str, dict[str, float]] = {}
        self.changes = 0

    def offer(self, event: StoredEvent) -> None:
        """Record the event's time (called synchronously when the store commits it)."""
        now = time.perf_counter()
        self.changes += 1
        name = str(event.obj["metadata"]["name"])
        if event.type == ADDED:
            self.added.setdefault(name, now)
            owner = (event.obj["metadata"].get("labels") or {}).get(self._owner_label or "")
            if owner:
                self.owners[name] = str(owner)
        elif event.type == DELETED:
            self.deleted.setdefault(name, now)
        phase = (event.obj.get("status") or {}).get("phase")
        if isinstance(phase, str) and phase:
            self.phases.setdefault(name, {}).setdefault(phase, now)

    def attach(self) -> TimedWatch:
        """Register with the emulator's store (from now on)."""
        self._emu.store.watch(self, since=self._emu.store.revision)
        return self

    def detach(self) -> None:
        """Unregister."""
        self._emu.store.unwatch(self)

    def reached(self, phase: str) -> dict[str, float]:
        """Name → time the object first reached `phase`."""
        return {name: at[phase] for name, at in self.phases.items() if phase in at}

    def reached_any(self, phases: tuple[str, ...]) -> dict[str, float]:
        """Name → first time the object reached one of `phases`."""
        found: dict[str, float] = {}
        for name, at in self.phases.items():
            times = [at[p] for p in phases if p in at]
            if times:
                found[name] = min(times)
        return found


def phase_of(obj: dict[str, Any] | None) -> str:
    """`status.phase` of an object ("" when absent)."""
    return str(((obj or {}).get("status") or {}).get("phase") or "")
