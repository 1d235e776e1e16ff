"""The WFE phase state machine: which moves are legal."""

from __future__ import annotations

from kubernaut_wfe.constants import Phase

TERMINAL_PHASES: frozenset[Phase] = frozenset({Phase.COMPLETED, Phase.FAILED})

ALLOWED_TRANSITIONS: dict[Phase | None, frozenset[Phase]] = {
    None: frozenset({Phase.PENDING, Phase.RUNNING, Phase.FAILED}),
    Phase.PENDING: frozenset({Phase.RUNNING, Phase.FAILED}),
    Phase.RUNNING: frozenset({Phase.COMPLETED, Phase.FAILED}),
    Phase.COMPLETED: frozenset(),
    Phase.FAILED: frozenset(),
}
"""`None` is the empty phase of a brand-new object. Staying in a phase is always allowed."""


class IllegalTransitionError(ValueError):
    """A phase move the state machine forbids (a bug in a decision, never user input)."""

    def __init__(self, old: Phase | None, new: Phase | None) -> None:
        super().__init__(f"illegal phase transition {old or '<empty>'} -> {new or '<empty>'}")
        self.old = old
        self.new = new


def is_terminal(phase: Phase | None) -> bool:
    """Completed or Failed."""
    return phase in TERMINAL_PHASES


def is_allowed(old: Phase | None, new: Phase | None) -> bool:
    """Whether moving from `old` to `new` is legal (staying put always is)."""
    if old == new:
        return True
    if new is None:
        return False
    return new in ALLOWED_TRANSITIONS[old]


def check_transition(old: Phase | None, new: Phase | None) -> None:
    """Raise `IllegalTransitionError` unless the move is legal."""
    if not is_allowed(old, new):
        raise IllegalTransitionError(old, new)
