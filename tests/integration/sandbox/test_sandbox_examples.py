"""`kubernaut-wfe sandbox --exit-when-done --output json` over the examples: each example ends as
its `# outcome:` line predicts, with exactly its due audit events (docs that cannot rot), on the
API emulator and on the real API server (`--api cluster`)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubernaut_wfe.constants import AuditEventType, Phase

REPO_ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = REPO_ROOT / "examples"
OUTCOME = re.compile(
    r"^# outcome: phase=(\w+)(?: reason=(\w+) wasExecutionFailure=(true|false))?$", re.M
)
RUN_SUCCEEDED = (
    AuditEventType.SELECTION_COMPLETED,
    AuditEventType.EXECUTION_STARTED,
    AuditEventType.WORKFLOW_COMPLETED,
)
RUN_FAILED = (
    AuditEventType.SELECTION_COMPLETED,
    AuditEventType.EXECUTION_STARTED,
    AuditEventType.WORKFLOW_FAILED,
)

pytestmark = pytest.mark.timeout(180)


@dataclass(frozen=True)
class Example:
    path: Path
    key: str
    target: str
    phase: str
    reason: str | None
    was_execution_failure: bool | None


def _examples() -> list[Example]:
    examples = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        outcome = OUTCOME.search(text)
        assert outcome, f"{path.name} has no '# outcome:' line"
        (document,) = [d for d in yaml.safe_load_all(text) if d is not None]
        metadata = document["metadata"]
        phase, reason, flag = outcome.groups()
        examples.append(
            Example(
                path=path,
                key=f"{metadata['namespace']}/{metadata['name']}",
                target=document["spec"]["targetResource"],
                phase=phase,
                reason=reason,
                was_execution_failure=None if flag is None else flag == "true",
            )
        )
    return examples


def _sandbox(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable, "-m", "kubernaut_wfe_tools.commands.sandbox",
        "--state-dir", str(tmp_path / "state"), "--exit-when-done", "--timeout", "120", *args,
    ]  # fmt: skip
    return subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=170, check=False
    )


@pytest.fixture(scope="module", params=["emulator", "cluster"])
def examples_run(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> subprocess.CompletedProcess[str]:
    """One sandbox run over the default manifests (every examples/*.yaml) on each API."""
    api: str = request.param
    if api == "cluster":
        request.getfixturevalue("cluster_binaries")
    state = tmp_path_factory.mktemp(f"examples-{api}")
    result = _sandbox(state, "--output", "json", "--api", api)
    assert not (state / "state" / "cluster").exists(), "the real API server was not stopped"
    return result


@pytest.fixture(scope="module")
def document(examples_run: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert examples_run.returncode == 0, examples_run.stderr[-6000:]
    parsed: dict[str, Any] = json.loads(examples_run.stdout)  # exactly one document, or it fails
    return parsed


def _by_key(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{w['metadata']['namespace']}/{w['metadata']['name']}": w
        for w in document["workflowExecutions"]
    }


def test_stdout_is_exactly_one_json_document(
    examples_run: subprocess.CompletedProcess[str], document: dict[str, Any]
) -> None:
    assert set(document) == {"workflowExecutions", "auditEvents"}
    assert examples_run.stdout.strip().startswith("{")
    assert "kubectl --kubeconfig" in examples_run.stderr


def test_every_example_file_is_applied_and_nothing_else(document: dict[str, Any]) -> None:
    examples = _examples()
    assert len({e.target for e in examples}) == len(examples), "examples must not share targets"

    assert sorted(_by_key(document)) == sorted(e.key for e in examples)


@pytest.mark.parametrize("example", _examples(), ids=lambda e: e.path.name)
def test_example_ends_as_its_outcome_line_predicts(
    example: Example, document: dict[str, Any]
) -> None:
    status = _by_key(document)[example.key]["status"]

    assert status["phase"] == example.phase
    assert status["pipelineRunRef"]["name"], "every example passes validation and gets a run"
    if example.phase == Phase.FAILED.value:
        assert status["failureDetails"]["reason"] == example.reason
        assert status["failureDetails"]["wasExecutionFailure"] is example.was_execution_failure
    else:
        assert "failureDetails" not in status


@pytest.mark.parametrize("example", _examples(), ids=lambda e: e.path.name)
def test_example_has_exactly_its_due_audit_events(
    example: Example, document: dict[str, Any]
) -> None:
    wfe = _by_key(document)[example.key]
    correlation = wfe["spec"]["remediationRequestRef"]["name"]
    events = [e for e in document["auditEvents"] if e["correlation_id"] == correlation]
    due = RUN_SUCCEEDED if example.phase == Phase.COMPLETED.value else RUN_FAILED

    assert Counter(e["event_type"] for e in events) == Counter(t.value for t in due)
    assert {e["resource_id"] for e in events} == {wfe["metadata"]["name"]}
    assert sorted(wfe["status"]["auditedEvents"]) == sorted(t.value for t in due)


def test_a_rejected_manifest_is_reported_and_the_rest_still_applied(tmp_path: Path) -> None:
    result = _sandbox(
        tmp_path,
        "--apply", str(EXAMPLES / "bad" / "unknown-field.yaml"), str(EXAMPLES / "hello-world.yaml"),
        "--output", "json",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr[-6000:]
    assert re.search(r"unknown-field\.yaml: .* REJECTED: HTTP 400: .*unknown field", result.stderr)
    (wfe,) = json.loads(result.stdout)["workflowExecutions"]
    assert wfe["metadata"]["name"] == "hello-world"
    assert wfe["status"]["phase"] == Phase.COMPLETED.value


def test_exit_when_done_times_out_naming_the_stuck_wfe(tmp_path: Path) -> None:
    result = _sandbox(tmp_path, "--apply", str(EXAMPLES / "failing-timeout.yaml"), "--timeout", "2")

    assert result.returncode == 1
    assert "timed out after 2s; not done: default/failing-timeout" in result.stderr
    assert result.stdout == ""
