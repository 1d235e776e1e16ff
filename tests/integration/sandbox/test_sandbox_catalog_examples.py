"""`kubernaut-wfe sandbox` over the catalog-snapshot examples (`examples/catalog/`): each ends as
`examples/README.md` predicts (the Job engine's ones too, run by the node stand-in, which plays
the kubelet and the Job controller on the API emulator), and every audit event they leave
validates against the newest DataStorage spec (the platform's own, read from ../shared as an
oracle)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from kubernaut_wfe.constants import AuditEventType, FailureReason, Phase
from kubernaut_wfe_tools.testing.oracles import NEWEST_DATASTORAGE_SPEC

REPO_ROOT = Path(__file__).resolve().parents[3]
CATALOG = REPO_ROOT / "examples" / "catalog"
JOB_EXAMPLES = sorted(CATALOG.glob("job-*.yaml"))
"""The examples the Job engine runs (`executionEngine: job`)."""
OUTCOME = re.compile(
    r"^# outcome: phase=(\w+)(?: reason=(\w+) wasExecutionFailure=(true|false))?$", re.M
)

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One sandbox run (the API emulator) over every catalog example, to the end."""
    state = tmp_path_factory.mktemp("catalog")
    command = [
        sys.executable, "-m", "kubernaut_wfe_tools.commands.sandbox",
        "--state-dir", str(state / "state"), "--exit-when-done", "--timeout", "120",
        "--output", "json", "--apply", *map(str, sorted(CATALOG.glob("*.yaml"))),
    ]  # fmt: skip
    result = subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=170, check=False
    )
    assert result.returncode == 0, result.stderr[-6000:]
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def _wfes(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {w["metadata"]["name"]: w for w in document["workflowExecutions"]}


def _events(document: dict[str, Any], wfe: dict[str, Any]) -> list[dict[str, Any]]:
    correlation = wfe["spec"]["remediationRequestRef"]["name"]
    return [e for e in document["auditEvents"] if e["correlation_id"] == correlation]


def test_the_catalog_hello_world_completes_with_only_its_declared_parameters(
    document: dict[str, Any],
) -> None:
    wfe = _wfes(document)["we-rr-catalog-hello"]
    assert wfe["status"]["phase"] == Phase.COMPLETED
    assert wfe["status"]["executionRef"] == wfe["status"]["pipelineRunRef"]
    events = _events(document, wfe)
    assert Counter(e["event_type"] for e in events) == Counter(
        [
            AuditEventType.SELECTION_COMPLETED,
            AuditEventType.EXECUTION_STARTED,
            AuditEventType.WORKFLOW_COMPLETED,
        ]
    )
    for event in events:
        data = event["event_data"]
        assert (data["workflow_name"], data["action_type"]) == ("hello-world", "RestartPod")
        if event["event_type"] != AuditEventType.SELECTION_COMPLETED:
            assert data["parameters"] == {
                "DELAY_SECONDS": "2",
                "TARGET_RESOURCE": "default/deployment/catalog-hello",
            }
    assert "left-out" not in json.dumps(events)


def test_the_ansible_example_fails_unsupported_engine_without_a_run(
    document: dict[str, Any],
) -> None:
    wfe = _wfes(document)["we-rr-catalog-ansible"]
    status = wfe["status"]
    assert status["phase"] == Phase.FAILED
    assert status["failureReason"] == FailureReason.UNSUPPORTED_ENGINE
    assert status["failureDetails"]["wasExecutionFailure"] is False
    assert "pipelineRunRef" not in status
    (event,) = _events(document, wfe)
    assert event["event_type"] == AuditEventType.WORKFLOW_FAILED
    assert event["event_data"]["failure_reason"] == FailureReason.UNSUPPORTED_ENGINE


def test_one_of_the_pair_runs_and_the_other_names_it(document: dict[str, Any]) -> None:
    wfes = _wfes(document)
    pair = [wfes["we-rr-catalog-dedup-first"], wfes["we-rr-catalog-dedup-second"]]
    phases = sorted(w["status"]["phase"] for w in pair)
    assert phases == [Phase.COMPLETED, Phase.FAILED]
    (ran,) = [w for w in pair if w["status"]["phase"] == Phase.COMPLETED]
    (duplicate,) = [w for w in pair if w["status"]["phase"] == Phase.FAILED]
    assert duplicate["status"]["failureReason"] == FailureReason.DEDUPLICATED
    assert duplicate["status"]["deduplicatedBy"] == ran["metadata"]["name"]
    (event,) = _events(document, duplicate)
    assert event["event_data"]["failure_reason"] == FailureReason.DEDUPLICATED


@pytest.mark.parametrize("path", JOB_EXAMPLES, ids=[p.name for p in JOB_EXAMPLES])
def test_each_job_example_ends_as_its_outcome_line_predicts(
    document: dict[str, Any], path: Path
) -> None:
    text = path.read_text(encoding="utf-8")
    outcome = OUTCOME.search(text)
    assert outcome is not None, f"{path.name} has no '# outcome:' line"
    phase, reason, flag = outcome.groups()
    (example,) = [d for d in yaml.safe_load_all(text) if d]
    assert example["spec"]["workflowRef"]["executionEngine"] == "job"
    wfe = _wfes(document)[example["metadata"]["name"]]
    status = wfe["status"]
    assert status["phase"] == phase
    assert status["executionRef"]["name"].startswith("wfe-")
    ending = AuditEventType.WORKFLOW_COMPLETED
    if phase == Phase.FAILED:
        assert status["failureReason"] == reason
        assert status["failureDetails"]["wasExecutionFailure"] is (flag == "true")
        ending = AuditEventType.WORKFLOW_FAILED
    events = _events(document, wfe)
    assert Counter(e["event_type"] for e in events) == Counter(
        [AuditEventType.SELECTION_COMPLETED, AuditEventType.EXECUTION_STARTED, ending]
    )
    for event in events:
        assert (
            event["event_data"]["workflow_name"] == example["spec"]["workflowRef"]["workflowName"]
        )


def test_every_audit_event_validates_against_the_newest_datastorage_spec(
    document: dict[str, Any],
) -> None:
    spec = yaml.safe_load(NEWEST_DATASTORAGE_SPEC.read_text(encoding="utf-8"))
    schema = {"$ref": "#/components/schemas/AuditEventRequest", "components": spec["components"]}
    validator = OAS30Validator(schema, format_checker=oas30_format_checker)
    # hello-world 3, ansible 1, the dedup pair 3 + 1, each Job example 3
    assert len(document["auditEvents"]) == 3 + 1 + 3 + 1 + 3 * len(JOB_EXAMPLES)
    for event in document["auditEvents"]:
        request = {k: v for k, v in event.items() if k not in ("event_id", "event_date")}
        assert [error.message for error in validator.iter_errors(request)] == []
