"""Each FAILURE_MODE of the failing bundle, played by the Tekton simulator exactly as Tekton
writes it, ends in the right failure reason and details."""

from __future__ import annotations

from typing import Any

import pytest

from kubernaut_wfe_tools.testing.stack import FAILING, wfe_body

# The suite's stack lives in the sibling conftest (importlib mode: no absolute path).
from .conftest import Stack  # noqa: TID252

pytestmark = pytest.mark.timeout(120)

# mode, WFE reason, wasExecutionFailure, extra expected failureDetails, executionConfig.timeout
CASES: list[tuple[str, str, bool, dict[str, Any], str | None]] = [
    (
        "exit",
        "TaskFailed",
        True,
        {"exitCode": 1, "failedTaskName": "fail-task", "failedStepName": "fail"},
        None,
    ),
    ("oom", "OOMKilled", True, {"exitCode": 137, "failedTaskName": "fail-task"}, None),
    ("timeout", "DeadlineExceeded", True, {"failedTaskName": "fail-task"}, "3s"),
    ("tasktimeout", "DeadlineExceeded", True, {"failedTaskName": "fail-task"}, None),
    ("imagepull", "ImagePullBackOff", False, {"failedTaskName": "fail-task"}, None),
    ("forbidden", "Forbidden", False, {"failedTaskName": "fail-task"}, None),
    ("quota", "ResourceExhausted", False, {}, "3s"),
    ("invalid", "ConfigurationError", False, {}, None),
    ("missing", "ConfigurationError", False, {}, None),
]


@pytest.mark.parametrize("case", CASES, ids=[case[0] for case in CASES])
async def test_failure_mode_ends_failed_with_its_reason(
    stack: Stack, case: tuple[str, str, bool, dict[str, Any], str | None]
) -> None:
    mode, reason, executed, details, pipeline_timeout = case
    await stack.start_controller()
    name = f"fail-{mode}"
    await stack.create(
        wfe_body(name, image=FAILING, parameters={"FAILURE_MODE": mode}, timeout=pipeline_timeout)
    )
    failed = await stack.wait_phase(name, "Failed", within=60)
    found = failed["status"]["failureDetails"]
    assert found["reason"] == reason
    assert found["wasExecutionFailure"] is executed
    for key, value in details.items():
        assert found[key] == value, key
    assert found["naturalLanguageSummary"]
    conditions = {c["type"]: c for c in failed["status"]["conditions"]}
    assert conditions["Ready"]["status"] == "False"
    assert conditions["Ready"]["reason"] == reason
    assert conditions["TektonPipelineComplete"]["status"] == "False"
    assert failed["status"]["completionTime"]
