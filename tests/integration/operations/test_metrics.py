"""`/metrics`: the Prometheus text format with the spec's names, one registry per Controller."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from kubernaut_wfe.adapters.kube_connection import KubeConnection
from kubernaut_wfe.adapters.kubeconfig import load_kubeconfig
from kubernaut_wfe.controller.operator import Controller
from kubernaut_wfe.core.config import load_config
from kubernaut_wfe_tools.testing.stack import wfe_body

# The suite's stack lives in the sibling conftest (importlib mode: no absolute path).
from .conftest import Stack  # noqa: TID252

pytestmark = pytest.mark.timeout(120)

SPEC_METRICS = {
    "workflowexecution_reconciler",
    "workflowexecution_reconciler_duration_seconds",
    "workflowexecution_reconciler_pipelinerun_creations",
    "workflowexecution_reconciler_errors",
    "workflowexecution_reconciler_status_writes_rejected",
    "workflowexecution_audit_events",
    "workflowexecution_audit_buffer_depth",
    "workflowexecution_controller_leader",
}
"""Family names as the parser reports them (counters without `_total`)."""


def families(text: str) -> dict[str, list[tuple[str, dict[str, str], float]]]:
    return {
        family.name: [(s.name, s.labels, s.value) for s in family.samples]
        for family in text_string_to_metric_families(text)
    }


async def test_metrics_parse_and_carry_the_spec_names(stack: Stack) -> None:
    controller = await stack.start_controller()
    await stack.create(wfe_body("measured"))
    await stack.wait_phase("measured", "Completed")

    async def counted() -> dict[str, list[tuple[str, dict[str, str], float]]] | None:
        parsed = families((await stack.probe(controller, "/metrics")).text)
        outcomes = parsed.get("workflowexecution_reconciler", [])
        done = any(labels.get("outcome") == "Completed" for _, labels, _ in outcomes)
        return parsed if done else None

    parsed = await stack.wait_for(counted, what="the outcome metric")
    assert parsed.keys() >= SPEC_METRICS
    creations = parsed["workflowexecution_reconciler_pipelinerun_creations"]
    assert ("workflowexecution_reconciler_pipelinerun_creations_total", {}, 1.0) in creations
    buckets = {
        labels["le"]
        for name, labels, _ in parsed["workflowexecution_reconciler_duration_seconds"]
        if name.endswith("_bucket")
    }
    assert buckets == {"5.0", "10.0", "20.0", "40.0", "80.0", "160.0", "320.0", "+Inf"}
    assert parsed["workflowexecution_controller_leader"][0][2] == 1.0


async def test_two_controllers_in_one_process_have_their_own_registries(stack: Stack) -> None:
    config = load_config(
        None,
        {
            "audit.datastorage_url": stack.audit_url,
            "controller.metrics_addr": "127.0.0.1:0",
            "controller.health_probe_addr": "127.0.0.1:0",
        },
    )
    connection = KubeConnection.open(load_kubeconfig(str(stack.kubeconfig)))
    first, second = Controller(config, connection), Controller(config, connection)
    try:
        for controller in (first, second):
            await controller.start()
        first.metrics.creations.inc()
        texts = []
        async with httpx.AsyncClient() as client:
            for controller in (first, second):
                assert controller.http is not None
                host, port = controller.http.addresses["metrics"]
                texts.append((await client.get(f"http://{host}:{port}/metrics")).text)
    finally:
        for controller in (first, second):
            await controller.stop()
    counts = [
        families(text)["workflowexecution_reconciler_pipelinerun_creations"][0][2] for text in texts
    ]
    assert counts == [1.0, 0.0]
    assert all(families(text).keys() >= SPEC_METRICS for text in texts)
