"""The hostile DataStorage corpus's loader refuses a case whose outcome does not follow from its
answers, naming the case, and reads which WFE of a case must see which event rejected."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kubernaut_wfe.constants import AuditEventType
from kubernaut_wfe_tools.testing import corpus
from kubernaut_wfe_tools.testing.datastorage_corpus import Outcome, datastorage_cases

STARTED = AuditEventType.EXECUTION_STARTED.value
REFUSAL = {"route": "batch", "status": 400, "kind": "problem", "event_type": STARTED}


def load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entry: dict[str, Any]) -> Any:
    (tmp_path / "datastorage_answers.yaml").write_text(json.dumps([entry]), encoding="utf-8")
    monkeypatch.setattr(corpus, "CORPUS_DIR", tmp_path)
    return datastorage_cases()


@pytest.mark.parametrize(
    ("entry", "complaint"),
    [
        ({"answers": [REFUSAL], "outcome": "stored_once"}, "permanent 4xx answer"),
        (
            {"answers": [{"route": "batch", "status": 503, "times": 1}], "rejected": STARTED},
            "permanent 4xx answer",
        ),
        (
            {
                "answers": [{**REFUSAL, "event_type": AuditEventType.WORKFLOW_COMPLETED.value}],
                "rejected": STARTED,
            },
            "must be the rejected one",
        ),
        ({"answers": [REFUSAL], "outcome": "rejected", "rejected": STARTED}, "either"),
        ({"answers": [{**REFUSAL, "statuss": 1}], "rejected": STARTED}, "unknown answer keys"),
        ({"answers": [], "outcome": "stored_once", "wfe": 2}, "unknown keys"),
        (
            {
                "answers": [{"route": "query", "status": 200, "kind": "fewer_ids", "times": 1}],
                "outcome": "stored_once",
            },
            "answers a batch",
        ),
    ],
)
def test_a_case_whose_outcome_does_not_follow_is_refused_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entry: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint) as refused:
        load(tmp_path, monkeypatch, {"name": "the-case", **entry})
    assert "the-case" in str(refused.value)


def test_only_the_targeted_wfe_of_a_batch_case_has_its_event_rejected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = {"name": "batch", "wfes": 3, "answers": [{**REFUSAL, "wfe": 1}], "rejected": STARTED}
    (case,) = load(tmp_path, monkeypatch, entry)
    assert case.outcome is Outcome.REJECTED
    assert case.batched
    assert case.wfe_names() == ["batch-0", "batch-1", "batch-2"]
    assert [case.rejected_for(index) for index in range(3)] == [None, STARTED, None]


def test_the_corpus_covers_each_route_and_both_outcomes() -> None:
    cases = datastorage_cases()
    assert len(cases) >= 12
    assert {answer.route for case in cases for answer in case.answers} == {"batch", "query"}
    assert {case.outcome for case in cases} == set(Outcome)
    assert any(case.restart for case in cases)
