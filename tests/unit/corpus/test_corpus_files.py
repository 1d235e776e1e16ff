"""The corpus files load, each case named once in its file, and a malformed case is refused
naming it."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from kubernaut_wfe_tools.testing import corpus, datastorage_corpus, run_status_corpus

LOADERS: dict[str, Callable[[], Sequence[Any]]] = {
    "wfe_specs.yaml": corpus.spec_cases,
    "status_writes.yaml": corpus.status_cases,
    "settings.yaml": corpus.settings_cases,
    "audit_requests.yaml": corpus.audit_request_cases,
    "run_statuses.yaml": run_status_corpus.run_status_cases,
    "kubeconfig_reach.yaml": corpus.reach_cases,
    "datastorage_answers.yaml": datastorage_corpus.datastorage_cases,
}


@pytest.mark.parametrize("file_name", LOADERS)
def test_each_case_is_named_once(file_name: str) -> None:
    cases = LOADERS[file_name]()
    repeated = [name for name, count in Counter(case.name for case in cases).items() if count > 1]
    assert cases
    assert repeated == []


def test_every_corpus_file_has_a_loader() -> None:
    files = {path.name for path in corpus.CORPUS_DIR.glob("*.yaml")} - {corpus.AUDIT_EVENT.name}
    assert files == set(LOADERS)


@pytest.mark.parametrize(
    ("file_name", "entry", "complaint"),
    [
        ("settings.yaml", {"name": "no-outcome", "flags": ["--x"]}, "must name its outcome"),
        ("settings.yaml", {"name": "typo", "exits": 2, "says": "x", "flag": []}, "unknown keys"),
        (
            "settings.yaml",
            {"name": "two-configs", "exits": 2, "says": "x", "config": {}, "config_text": ""},
            "not both",
        ),
        ("audit_requests.yaml", {"name": "no-status", "method": "GET", "path": "/"}, "outcome"),
        (
            "audit_requests.yaml",
            {
                "name": "two-bodies",
                "method": "POST",
                "path": "/",
                "json": 1,
                "text": "1",
                "status": 400,
            },
            "one body",
        ),
        (
            "audit_requests.yaml",
            {"name": "lower-case", "method": "get", "path": "/", "status": 200},
            "method",
        ),
        ("run_statuses.yaml", {"name": "no-outcome", "run": "job", "status": {}}, "outcome"),
        (
            "run_statuses.yaml",
            {"name": "no-enum", "run": "job", "status": {}, "outcome": {"fails": "Broken"}},
            "failureDetails.reason",
        ),
        (
            "run_statuses.yaml",
            {"name": "a-node", "run": "node", "status": {}, "outcome": "waits"},
            "run is one of",
        ),
        (
            "run_statuses.yaml",
            {"name": "fails-how", "run": "pod", "status": {}, "outcome": "fails"},
            "outcome",
        ),
        (
            "kubeconfig_reach.yaml",
            {"name": "both", "cluster": {}, "exits": 2, "says": "x", "retries": True},
            "one outcome",
        ),
        (
            "kubeconfig_reach.yaml",
            {"name": "retries-silently", "cluster": {}, "retries": True},
            "one outcome",
        ),
        (
            "kubeconfig_reach.yaml",
            {"name": "typo", "cluster": {"server": "{nowhere}"}, "exits": 2, "says": "x"},
            "unknown placeholders",
        ),
    ],
)
def test_a_malformed_case_is_refused_naming_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    file_name: str,
    entry: dict[str, Any],
    complaint: str,
) -> None:
    (tmp_path / file_name).write_text(json.dumps([entry]), encoding="utf-8")
    monkeypatch.setattr(corpus, "CORPUS_DIR", tmp_path)
    with pytest.raises(ValueError, match=complaint) as refused:
        LOADERS[file_name]()
    assert entry["name"] in str(refused.value)


def test_a_padded_body_is_the_same_json_of_the_given_size() -> None:
    case = next(case for case in corpus.audit_request_cases() if case.name == "batch-valid")
    padded = corpus.AuditRequestCase(**{**vars(case), "bytes_of_size": 5000})
    body = padded.body()
    assert body is not None
    assert len(body) == 5000
    assert json.loads(body) == json.loads(case.body() or b"")
