from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kubernaut_wfe.constants import ConditionStatus, ConditionType, FailureReason, Phase
from kubernaut_wfe.core.conditions import (
    CONDITION_MESSAGE_MAX,
    get_condition,
    ready_condition,
    set_condition,
    set_ready,
)

T0 = datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=1)
LOCK = ConditionType.RESOURCE_LOCKED


def test_new_condition_gets_now_and_generation() -> None:
    conditions = set_condition([], LOCK, ConditionStatus.TRUE, "R", "m", generation=3, now=T0)
    assert len(conditions) == 1
    assert conditions[0].last_transition_time == T0
    assert conditions[0].observed_generation == 3


def test_transition_time_kept_when_status_unchanged() -> None:
    first = set_condition([], LOCK, ConditionStatus.TRUE, "A", "one", generation=1, now=T0)
    second = set_condition(first, LOCK, ConditionStatus.TRUE, "B", "two", generation=2, now=T1)
    assert second[0].last_transition_time == T0
    assert (second[0].reason, second[0].message, second[0].observed_generation) == ("B", "two", 2)


def test_transition_time_moves_when_status_flips() -> None:
    first = set_condition([], LOCK, ConditionStatus.TRUE, "A", "", generation=1, now=T0)
    second = set_condition(first, LOCK, ConditionStatus.FALSE, "A", "", generation=1, now=T1)
    assert second[0].last_transition_time == T1


def test_other_conditions_untouched_and_input_not_mutated() -> None:
    base = set_condition([], "Other", ConditionStatus.TRUE, "X", "", generation=1, now=T0)
    updated = set_condition(base, LOCK, ConditionStatus.TRUE, "Y", "", generation=1, now=T1)
    assert [c.type for c in updated] == ["Other", LOCK]
    assert len(base) == 1
    assert get_condition(updated, "Other") == base[0]
    locked = get_condition(updated, LOCK)
    assert locked is not None
    assert locked.status == ConditionStatus.TRUE
    assert get_condition(updated, "Missing") is None


def test_message_truncated_to_schema_limit() -> None:
    conditions = set_condition(
        [], LOCK, ConditionStatus.TRUE, "R", "x" * 40000, generation=1, now=T0
    )
    assert len(conditions[0].message) == CONDITION_MESSAGE_MAX
    assert conditions[0].message.endswith("...")


@pytest.mark.parametrize(
    ("phase", "reason", "expected"),
    [
        (None, None, (ConditionStatus.UNKNOWN, "Pending")),
        (Phase.PENDING, None, (ConditionStatus.UNKNOWN, "Pending")),
        (Phase.RUNNING, None, (ConditionStatus.UNKNOWN, "Running")),
        (Phase.COMPLETED, None, (ConditionStatus.TRUE, "Completed")),
        (Phase.FAILED, FailureReason.OOM_KILLED, (ConditionStatus.FALSE, "OOMKilled")),
        (Phase.FAILED, None, (ConditionStatus.FALSE, "Unknown")),
    ],
)
def test_ready_condition(
    phase: Phase | None, reason: FailureReason | None, expected: tuple[ConditionStatus, str]
) -> None:
    status, ready_reason, message = ready_condition(phase, reason)
    assert (status, ready_reason) == expected
    assert message


def test_set_ready_writes_ready_type() -> None:
    conditions = set_ready([], Phase.COMPLETED, None, "done", generation=2, now=T0)
    ready = get_condition(conditions, ConditionType.READY)
    assert ready is not None
    assert (ready.status, ready.message, ready.observed_generation) == (
        ConditionStatus.TRUE,
        "done",
        2,
    )
