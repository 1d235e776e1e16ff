"""One target, one lock (issue #15, defect 4): the spellings of one object's kind share the lock
the API server's discovery resolves them to, and a kind it does not serve is refused."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import pytest

from kubernaut_wfe.constants import Annotation, Label
from kubernaut_wfe_tools.testing.stack import wfe_body

# The suite's stack lives in the sibling conftest (importlib mode: no absolute path).
from .conftest import Stack  # noqa: TID252

pytestmark = pytest.mark.timeout(120)
SPELLINGS = {
    "canonical": "default/deployment/web",
    "kind": "default/Deployment/web",
    "plural": "default/deployments/web",
    "grouped": "default/deployment.apps/web",
    "short": "default/deploy/web",
}
CONTRACT_LOCK = "wfe-" + hashlib.sha256(b"default/deployment/web").hexdigest()[:16]
"""The contract's run name of the canonical spelling (spec §2), computed here on purpose."""


def phase(obj: dict[str, Any] | None) -> str | None:
    return ((obj or {}).get("status") or {}).get("phase")


async def test_five_spellings_of_one_deployment_make_one_run(bare_stack: Stack) -> None:
    stack = bare_stack
    await stack.start_controller()
    await asyncio.gather(
        *(stack.create(wfe_body(name, target=target)) for name, target in SPELLINGS.items())
    )

    async def settled() -> dict[str, dict[str, Any]] | None:
        found = {name: await stack.wfe(name) or {} for name in SPELLINGS}
        done = all(phase(wfe) in ("Running", "Failed") for wfe in found.values())
        return found if done else None

    wfes: dict[str, dict[str, Any]] = await stack.wait_for(settled, what="all five to settle")
    phases = sorted(str(phase(wfe)) for wfe in wfes.values())
    assert phases == ["Failed"] * 4 + ["Running"]
    (run,) = await stack.runs()
    assert run["metadata"]["name"] == CONTRACT_LOCK
    assert run["metadata"]["labels"][Label.TARGET_RESOURCE] == "default__deployment__web"
    (winner,) = [name for name, wfe in wfes.items() if phase(wfe) == "Running"]
    assert wfes[winner]["status"]["pipelineRunRef"] == {"name": CONTRACT_LOCK}
    # What the winner wrote stays as written on its run.
    assert run["metadata"]["annotations"][Annotation.TARGET_RESOURCE] == SPELLINGS[winner]
    params = {p["name"]: p["value"] for p in run["spec"]["params"]}
    assert params["TARGET_RESOURCE"] == SPELLINGS[winner]
    for name, wfe in wfes.items():
        if name != winner:
            details = wfe["status"]["failureDetails"]
            assert details["reason"] == "Deduplicated"
            assert details["wasExecutionFailure"] is False
            assert winner in details["message"]
            assert details["message"].startswith(f"Target {SPELLINGS[name]} ")
            assert "pipelineRunRef" not in wfe["status"]


async def test_a_kind_the_api_does_not_serve_fails_without_a_run(bare_stack: Stack) -> None:
    stack = bare_stack
    await stack.create(wfe_body("typo", target="default/nosuchkind/web"))
    # The controller's discovery read then begins after the WFE was created (beyond the
    # timestamp's second), so it is final for it; a read before would only delay the failure.
    await asyncio.sleep(2.5)
    await stack.start_controller()
    failed = await stack.wait_phase("typo", "Failed")
    details = failed["status"]["failureDetails"]
    assert details["reason"] == "ConfigurationError"
    assert details["wasExecutionFailure"] is False
    assert "the kind 'nosuchkind'" in details["message"]
    assert "install its CRD first" in details["message"]
    assert "pipelineRunRef" not in failed["status"]
    assert await stack.runs() == []
    assert not stack.requests.filter(resource="pipelineruns", verb="create")
    assert not stack.requests.filter(resource="pipelineruns", verb="get")
