"""What a run's status says when its writer wrote something no engine writes: a `Succeeded`
status that is not one of Knative's three words decides nothing, and an end time that cannot be
true is not believed (`core.tekton`, `core.runs`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kubernaut_wfe.core import runs, tekton

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
STARTED = NOW - timedelta(minutes=10)


def _run(status: Any) -> dict[str, Any]:
    return {
        "kind": "PipelineRun",
        "status": {"conditions": [{"type": "Succeeded", "status": status}]},
    }


@pytest.mark.parametrize(
    ("written", "read"),
    [("True", "True"), ("False", "False"), ("Unknown", "Unknown"), ("Maybe", "Unknown"),
     ("false", "Unknown"), (True, "Unknown"), (0, "Unknown"), (None, "Unknown")],
)  # fmt: skip
def test_only_knatives_three_words_decide_a_run(written: Any, read: str) -> None:
    condition = tekton.succeeded(_run(written))
    assert condition is not None
    assert condition.status == read
    assert runs.is_finished(_run(written)) is (read != "Unknown")


@pytest.mark.parametrize(
    ("reported", "believed"),
    [
        (None, NOW),
        (NOW - timedelta(minutes=1), NOW - timedelta(minutes=1)),
        (STARTED - timedelta(milliseconds=500), STARTED - timedelta(milliseconds=500)),
        (STARTED - timedelta(seconds=2), NOW),
        (datetime(2000, 1, 1, tzinfo=UTC), NOW),
        (NOW + timedelta(minutes=4), NOW + timedelta(minutes=4)),
        (datetime(2099, 1, 1, tzinfo=UTC), NOW),
    ],
)
def test_an_end_that_cannot_be_true_is_now(reported: datetime | None, believed: datetime) -> None:
    assert runs.believable_end(reported, STARTED, NOW) == believed


def test_without_a_start_only_the_future_is_doubted() -> None:
    long_ago = datetime(2000, 1, 1, tzinfo=UTC)
    assert runs.believable_end(long_ago, None, NOW) == long_ago
