"""Logs: JSON lines by default (ours and kopf's), bound to the WFE; text on request; never a
credential."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest
import yaml

from kubernaut_wfe_tools.testing.stack import json_lines, wfe_body

# The suite's stack lives in the sibling conftest (importlib mode: no absolute path).
from .conftest import Stack  # noqa: TID252

pytestmark = pytest.mark.timeout(120)

WFE_FIELDS = {"wfe", "namespace", "target", "pipelinerun", "phase", "correlation_id"}


async def test_json_logs_bound_to_the_wfe_without_credentials(stack: Stack) -> None:
    datastorage_token = f"ds-token-{secrets.token_hex(16)}"
    kubeconfig = yaml.safe_load(stack.kubeconfig.read_text(encoding="utf-8"))
    # The real server's ServiceAccount token; the emulator takes any.
    user = kubeconfig["users"][0]["user"]
    api_token = user.get("token") or f"api-token-{secrets.token_hex(16)}"
    user["token"] = api_token
    with_token = stack.tmp_path / "kubeconfig-token"
    with_token.write_text(yaml.safe_dump(kubeconfig), encoding="utf-8")
    token_file = stack.tmp_path / "datastorage-token"
    token_file.write_text(datastorage_token, encoding="utf-8")
    config = stack.tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"audit": {"token_file": str(token_file)}}), "utf-8")

    controller = await stack.start_controller("--config", str(config), kubeconfig=with_token)
    await stack.create(wfe_body("logged"))
    await stack.wait_phase("logged", "Completed")

    async def acknowledged() -> Any:
        return ((await stack.wfe("logged") or {}).get("status") or {}).get("auditedEvents")

    await stack.wait_for(
        acknowledged,
        what="the audit trail to be acknowledged",
    )
    assert await controller.stop() == 0
    output = controller.log()

    lines = [line for line in output.splitlines() if line.strip()]
    parsed = json_lines(output)
    assert len(parsed) == len(lines), [line for line in lines if not line.startswith("{")][:5]
    assert all({"timestamp", "level", "event"} <= line.keys() for line in parsed)
    bound = [line for line in parsed if line.get("wfe") == "logged"]
    assert bound, "no log line bound to the WFE"
    assert all(line.keys() >= WFE_FIELDS for line in bound)
    assert bound[0]["correlation_id"] == "rr-logged"
    assert any(str(line.get("logger", "")).startswith("kopf") for line in parsed)
    assert api_token not in output
    assert datastorage_token not in output


async def test_text_logs_on_request(stack: Stack) -> None:
    controller = await stack.start_controller(log_format="text")
    await stack.wait_for(lambda: "endpoints serving" in controller.log(), what="the first log")
    assert await controller.stop() == 0
    lines = [line for line in controller.log().splitlines() if line.strip()]
    assert lines
    for line in lines:
        with pytest.raises(ValueError):  # noqa: PT011 - any JSON decoding error
            json.loads(line)
    assert any("event=" in line and "level=info" in line for line in lines)
