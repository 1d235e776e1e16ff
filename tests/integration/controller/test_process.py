"""`kubernaut-wfe run` as a process: an address in use, an API server out of reach, the CRD
check, metrics and probes, namespaces, and refused creates (the settings it refuses are in
`tests/corpus/settings.yaml`)."""

from __future__ import annotations

import asyncio
import re
import socket
import sys
from pathlib import Path

import httpx
import pytest
import yaml

from kubernaut_wfe_tools.emulator import ApiEmulator
from kubernaut_wfe_tools.emulator.server import default_crd_paths
from kubernaut_wfe_tools.testing.relay import tcp_relay
from kubernaut_wfe_tools.testing.stack import wfe_body
from kubernaut_wfe_tools.testing.targets import target_kind
from kubernaut_wfe_tools.testing.testcluster import TestCluster

# The suite's stack lives in the sibling conftest (importlib mode: no absolute path).
from .conftest import Stack  # noqa: TID252

pytestmark = pytest.mark.timeout(120)


async def run_command(*args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kubernaut_wfe", "run", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, output.decode()


async def test_an_address_in_use_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n", encoding="utf-8")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, output = await run_command(
            "--kubeconfig", str(kubeconfig), "--health-probe-bind-address", f"127.0.0.1:{port}"
        )
    assert code == 2
    assert f"controller.health_probe_addr: cannot listen on 127.0.0.1:{port}" in output
    assert "Traceback" not in output


async def test_an_api_server_out_of_reach_holds_the_start_until_it_answers(
    stack: Stack, tmp_path: Path
) -> None:
    """Nothing listens at the kubeconfig's address at first: the controller waits (NotReady,
    asking again with back-off) and starts once the API server answers there. What it says and
    how often it asks: `tests/corpus/kubeconfig_reach.yaml`."""
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    document = yaml.safe_load(stack.kubeconfig.read_text(encoding="utf-8"))
    server = document["clusters"][0]["cluster"]["server"]
    document["clusters"][0]["cluster"]["server"] = re.sub(r":\d+$", f":{port}", server)
    kubeconfig = tmp_path / "kubeconfig-out-of-reach"
    kubeconfig.write_text(yaml.safe_dump(document), encoding="utf-8")
    proc = await stack.start_controller(kubeconfig=kubeconfig, log_format="json", ready="started")
    await stack.wait_for(
        lambda: "the Kubernetes API server cannot be reached; trying again" in proc.log(),
        what="a refused try",
    )
    assert "controller started" not in proc.log()
    async with tcp_relay(server, port=port):
        await stack.wait_for(
            lambda: "controller started" in proc.log(), what="the start once it answers"
        )
        assert proc.returncode is None
    assert "Traceback" not in proc.log()


def crds_without_audited_events(tmp_path: Path) -> list[Path]:
    """The default CRDs, our WFE CRD as an older release had it (no `status.auditedEvents`)."""
    paths = default_crd_paths()
    crd = yaml.safe_load(Path(paths[0]).read_text(encoding="utf-8"))
    for version in crd["spec"]["versions"]:
        status = version["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]
        status.pop("auditedEvents", None)
    old = tmp_path / "old-crd.yaml"
    old.write_text(yaml.safe_dump(crd), encoding="utf-8")
    return [old, *paths[1:]]


async def _start_on(kubeconfig: Path) -> tuple[int, str]:
    return await run_command(
        "--kubeconfig", str(kubeconfig),
        "--metrics-bind-address", "127.0.0.1:0",
        "--health-probe-bind-address", "127.0.0.1:0",
    )  # fmt: skip


async def test_an_old_crd_stops_the_start_with_an_upgrade_hint(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    old_crds = crds_without_audited_events(tmp_path)
    if target_kind() == "cluster":
        # The module's own cluster, its WFE CRD replaced by the older one, then put back.
        cluster: TestCluster = request.getfixturevalue("own_cluster")
        apply = ("apply", "--server-side", "--force-conflicts", "-f")
        cluster.kubectl(*apply, str(old_crds[0]))
        try:
            code, output = await _start_on(cluster.controller_kubeconfig)
        finally:
            cluster.kubectl(*apply, str(default_crd_paths()[0]))
    else:
        emu = ApiEmulator(crd_paths=old_crds)
        async with emu.serving():
            code, output = await _start_on(emu.write_kubeconfig(tmp_path / "kubeconfig"))
    assert code == 1
    assert "status.auditedEvents" in output
    assert "upgrade the CRD" in output


def endpoints(log: str) -> dict[str, int]:
    found = re.search(r"'metrics': \('[^']+', (\d+)\), 'probes': \('[^']+', (\d+)\)", log)
    assert found, log[-2000:]
    return {"metrics": int(found.group(1)), "probes": int(found.group(2))}


async def test_metrics_and_probes(stack: Stack) -> None:
    controller = await stack.start_controller()
    await stack.create(wfe_body("measured"))
    await stack.wait_phase("measured", "Completed")
    ports = endpoints(controller.log())
    async with httpx.AsyncClient() as client:

        async def counted() -> str | None:
            text = (await client.get(f"http://127.0.0.1:{ports['metrics']}/metrics")).text
            return (
                text
                if 'workflowexecution_reconciler_total{outcome="Completed"} 1.0' in text
                else None
            )

        metrics = await stack.wait_for(counted, what="the outcome metric")
        assert "workflowexecution_reconciler_pipelinerun_creations_total 1.0" in metrics
        # The platform's names and buckets (platform contract §7), beside ours.
        for bound in ("5.0", "10.0", "20.0", "40.0", "80.0", "160.0", "320.0", "+Inf"):
            bucket = f'workflowexecution_reconciler_duration_seconds_bucket{{le="{bound}"'
            assert bucket in metrics, bound
        # Registered upstream and never incremented: a metric that cannot move is not served.
        assert "workflowexecution_schema_fetch_failures_total" not in metrics
        health = await client.get(f"http://127.0.0.1:{ports['probes']}/healthz")
        assert health.status_code == 200
        ready = await client.get(f"http://127.0.0.1:{ports['probes']}/readyz")
        assert ready.status_code == 200


async def test_wfes_in_several_namespaces(stack: Stack) -> None:
    # A cooldown longer than the test: the three runs hold their targets until they are counted.
    await stack.start_controller(cooldown="5m")
    for namespace in ("default", "team-a", "team-b"):
        await stack.create(wfe_body(f"in-{namespace}", namespace=namespace))
    for namespace in ("default", "team-a", "team-b"):
        await stack.wait_phase(f"in-{namespace}", "Completed", namespace=namespace)
    assert len(await stack.runs()) == 3


async def test_namespace_flag_limits_what_is_reconciled(stack: Stack) -> None:
    await stack.start_controller("--namespace", "team-a")
    await stack.create(wfe_body("outside", namespace="team-b"))
    await stack.create(wfe_body("inside", namespace="team-a"))
    await stack.wait_phase("inside", "Completed", namespace="team-a")
    outside = await stack.wfe("outside", "team-b")
    assert outside is not None
    assert "finalizers" not in outside["metadata"]
    assert "status" not in outside or not outside["status"]


async def test_service_account_outside_the_allow_list_is_a_configuration_error(
    stack: Stack,
) -> None:
    await stack.start_controller()
    body = wfe_body("sneaky")
    body["spec"]["executionConfig"] = {"serviceAccountName": "cluster-admin"}
    await stack.create(body)
    failed = await stack.wait_phase("sneaky", "Failed")
    details = failed["status"]["failureDetails"]
    assert details["reason"] == "ConfigurationError"
    assert details["wasExecutionFailure"] is False
    assert await stack.runs() == []


@pytest.mark.timeout(180)
async def test_create_refused_until_the_attempts_run_out_fails_with_an_enum_reason(
    bare_stack: Stack,
) -> None:
    stack = bare_stack
    await stack.start_controller()
    stack.faults.add(action="error", status=503, verb="create", resource="pipelineruns",
                         count=10_000)  # fmt: skip
    await stack.create(wfe_body("refused"))
    failed = await stack.wait_phase("refused", "Failed", within=150)
    details = failed["status"]["failureDetails"]
    assert details["reason"] == "Unknown"
    assert details["wasExecutionFailure"] is False
    created = next(
        c for c in failed["status"]["conditions"] if c["type"] == "TektonPipelineCreated"
    )
    assert created["status"] == "False"
    assert created["reason"] == "PipelineCreationFailed"
    assert await stack.runs() == []


QUOTA = 'pipelineruns.tekton.dev "x" is forbidden: exceeded quota: runs, used: 5, limited: 5'
RBAC = 'pipelineruns.tekton.dev is forbidden: User "system:serviceaccount:x:y" cannot create'
WEBHOOK = 'admission webhook "validation.webhook.pipeline.tekton.dev" denied the request'


@pytest.mark.parametrize(
    ("status", "message", "reason", "condition_reason"),
    [
        (403, QUOTA, "ResourceExhausted", "QuotaExceeded"),
        (403, RBAC, "Forbidden", "RBACDenied"),
        (400, WEBHOOK, "ConfigurationError", "PipelineCreationFailed"),
        (422, "PipelineRun.tekton.dev is invalid", "ConfigurationError", "PipelineCreationFailed"),
    ],
)
async def test_create_rejected_by_the_apiserver_fails_at_once_with_the_mapped_reason(
    bare_stack: Stack, status: int, message: str, reason: str, condition_reason: str
) -> None:
    stack = bare_stack
    await stack.start_controller()
    stack.faults.add(action="error", status=status, message=message, verb="create",
                         resource="pipelineruns", count=10_000)  # fmt: skip
    await stack.create(wfe_body("rejected"))
    failed = await stack.wait_phase("rejected", "Failed")
    details = failed["status"]["failureDetails"]
    assert details["reason"] == reason
    assert details["wasExecutionFailure"] is False
    created = next(
        c for c in failed["status"]["conditions"] if c["type"] == "TektonPipelineCreated"
    )
    assert (created["status"], created["reason"]) == ("False", condition_reason)
    assert await stack.runs() == []
    assert len(stack.requests.filter(verb="create", resource="pipelineruns")) == 1


async def test_a_status_write_the_apiserver_rejects_ends_in_one_minimal_failed_status(
    bare_stack: Stack,
) -> None:
    stack = bare_stack
    await stack.start_controller()
    stack.faults.add(action="error", status=422, verb="patch", resource="workflowexecutions",
                         subresource="status", message="status.phase: Unsupported value",
                         count=1)  # fmt: skip
    await stack.create(wfe_body("refused-write"))
    failed = await stack.wait_phase("refused-write", "Failed")
    details = failed["status"]["failureDetails"]
    assert details["reason"] == "Unknown"
    assert "status.phase: Unsupported value" in details["message"]
    writes = stack.requests.filter(
        verb="patch", resource="workflowexecutions", subresource="status"
    )
    assert [w.status for w in writes[:2]] == [422, 200]
