from __future__ import annotations

import pytest

from kubernaut_wfe.constants import Phase
from kubernaut_wfe.core.phases import IllegalTransitionError, check_transition, is_terminal

P, R, C, F = Phase.PENDING, Phase.RUNNING, Phase.COMPLETED, Phase.FAILED

ALLOWED = [(None, P), (None, R), (None, F), (P, R), (P, F), (R, C), (R, F)]
FORBIDDEN = [(None, C), (P, C), (R, P), (C, R), (C, F), (C, P), (F, R), (F, C), (F, P), (R, None)]


@pytest.mark.parametrize(("old", "new"), ALLOWED)
def test_allowed_transitions(old: Phase | None, new: Phase) -> None:
    check_transition(old, new)


@pytest.mark.parametrize("phase", [None, P, R, C, F])
def test_staying_is_allowed(phase: Phase | None) -> None:
    check_transition(phase, phase)


@pytest.mark.parametrize(("old", "new"), FORBIDDEN)
def test_forbidden_transitions(old: Phase | None, new: Phase | None) -> None:
    with pytest.raises(IllegalTransitionError, match="illegal phase transition"):
        check_transition(old, new)


def test_terminal_phases() -> None:
    assert [is_terminal(p) for p in (None, P, R, C, F)] == [False, False, False, True, True]
