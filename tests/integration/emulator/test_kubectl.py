"""kubectl 1.32 against the emulator: apply (default validation), get, explain, patch, delete,
and create of built-in kinds (a protobuf body)."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kubernaut_wfe.emulator import ApiEmulator

KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
KUBECTL_PRESENT = Path(KUBECTL).exists()

WFE_MANIFEST = """\
apiVersion: kubernaut.ai/v1alpha1
kind: WorkflowExecution
metadata:
  name: {name}
  namespace: default
spec:
  remediationRequestRef:
    name: rr-1
  workflowRef:
    workflowId: hello-world
    version: "1.0.0"
    containerImage: quay.io/kubernaut/workflows/hello-world:v1
  targetResource: default/deployment/nginx
{extra}"""


@pytest.fixture
async def kubectl(tmp_path: Path) -> AsyncIterator[Kubectl]:
    if not KUBECTL_PRESENT:
        if os.environ.get("CI"):
            pytest.fail(f"kubectl is required in CI but missing at {KUBECTL}")
        pytest.skip("kubectl is not installed")
    emu = ApiEmulator()
    async with emu.serving():
        config = emu.write_kubeconfig(tmp_path / "kubeconfig")
        yield Kubectl(config, tmp_path / "cache", emu)


class Kubectl:
    """Runs kubectl against one emulator."""

    def __init__(self, config: Path, cache: Path, emu: ApiEmulator) -> None:
        self.config = config
        self.cache = cache
        self.emu = emu

    async def __call__(self, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            KUBECTL,
            f"--kubeconfig={self.config}",
            f"--cache-dir={self.cache}",
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(
            process.communicate(stdin.encode() if stdin is not None else None), 30
        )
        assert process.returncode is not None
        return process.returncode, out.decode(), err.decode()


async def test_kubectl_apply_with_default_validation_creates_and_updates(kubectl: Kubectl) -> None:
    code, out, err = await kubectl(
        "apply", "-f", "-", stdin=WFE_MANIFEST.format(name="a", extra="")
    )
    assert code == 0, err
    assert "workflowexecution.kubernaut.ai/a created" in out
    stored = kubectl.emu.read("workflowexecutions", "default", "a")
    assert stored is not None
    assert "kubectl.kubernetes.io/last-applied-configuration" in stored["metadata"]["annotations"]
    same = await kubectl("apply", "-f", "-", stdin=WFE_MANIFEST.format(name="a", extra=""))
    assert same[0] == 0
    assert "unchanged" in same[1]
    patches = kubectl.emu.request_log.filter(verb="patch")
    assert patches == []


async def test_kubectl_apply_rejects_unknown_fields_and_schema_violations(
    kubectl: Kubectl,
) -> None:
    unknown = WFE_MANIFEST.format(name="b", extra="  bogusField: 1\n")
    code, _, err = await kubectl("apply", "-f", "-", stdin=unknown)
    assert code == 1
    assert 'strict decoding error: unknown field "spec.bogusField"' in err
    invalid = WFE_MANIFEST.format(name="c", extra="  confidence: 7\n")
    code, _, err = await kubectl("apply", "-f", "-", stdin=invalid)
    assert code == 1
    assert "spec.confidence" in err
    assert kubectl.emu.read("workflowexecutions", "default", "b") is None


async def test_kubectl_apply_of_a_changed_spec_hits_the_cel_rule(kubectl: Kubectl) -> None:
    await kubectl("apply", "-f", "-", stdin=WFE_MANIFEST.format(name="d", extra=""))
    changed = WFE_MANIFEST.format(name="d", extra="").replace("nginx", "apache")
    code, _, err = await kubectl("apply", "-f", "-", stdin=changed)
    assert code == 1
    assert "spec is immutable after creation" in err


async def test_kubectl_get_wfe_prints_the_printer_columns(kubectl: Kubectl) -> None:
    await kubectl("apply", "-f", "-", stdin=WFE_MANIFEST.format(name="e", extra=""))
    code, out, err = await kubectl("get", "wfe")
    assert code == 0, err
    header, row = out.splitlines()[:2]
    assert header.split() == ["NAME", "PHASE", "WORKFLOWID", "TARGET", "DURATION", "AGE"]
    assert row.split()[:3] == ["e", "hello-world", "default/deployment/nginx"]


async def test_kubectl_explain_reads_the_crd_schema(kubectl: Kubectl) -> None:
    code, out, err = await kubectl("explain", "workflowexecution.spec")
    assert code == 0, err
    assert "KIND:       WorkflowExecution" in out
    assert "workflowRef" in out
    assert "targetResource" in out


async def test_kubectl_patch_status_subresource_and_delete(kubectl: Kubectl) -> None:
    await kubectl("apply", "-f", "-", stdin=WFE_MANIFEST.format(name="f", extra=""))
    code, _, err = await kubectl(
        "patch",
        "wfe",
        "f",
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status":{"phase":"Running"}}',
    )
    assert code == 0, err
    code, out, _ = await kubectl("get", "wfe", "f", "-o", "jsonpath={.status.phase}")
    assert out == "Running"
    code, _, err = await kubectl(
        "patch",
        "wfe",
        "f",
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status":{"phase":"Bogus"}}',
    )
    assert code == 1
    assert "status.phase" in err
    code, out, err = await kubectl("delete", "wfe", "f")
    assert code == 0, err
    assert 'workflowexecution.kubernaut.ai "f" deleted' in out
    assert kubectl.emu.read("workflowexecutions", "default", "f") is None


async def test_kubectl_lists_builtins(kubectl: Kubectl) -> None:
    code, out, err = await kubectl("get", "namespaces", "-o", "name")
    assert code == 0, err
    assert "namespace/kube-system" in out.split()
    code, out, err = await kubectl("get", "crd", "-o", "name")
    assert code == 0, err
    assert "customresourcedefinition.apiextensions.k8s.io/pipelineruns.tekton.dev" in out.split()


async def test_kubectl_get_watch_prints_new_rows(kubectl: Kubectl) -> None:
    process = await asyncio.create_subprocess_exec(
        KUBECTL,
        f"--kubeconfig={kubectl.config}",
        f"--cache-dir={kubectl.cache}",
        "get",
        "wfe",
        "-w",
        "--output-watch-events",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        await asyncio.wait_for(_until_watching(kubectl.emu), 20)
        await kubectl("apply", "-f", "-", stdin=WFE_MANIFEST.format(name="g", extra=""))
        lines: list[str] = []
        while not any(line.split()[:2] == ["ADDED", "g"] for line in lines):
            lines.append((await asyncio.wait_for(process.stdout.readline(), 20)).decode())
    finally:
        process.kill()
        await process.wait()


async def _until_watching(emu: ApiEmulator) -> None:
    # kubectl is another process: poll the request log for its watch request
    while True:
        if emu.request_log.filter(verb="watch", resource="workflowexecutions"):
            return
        await asyncio.sleep(0.05)


async def test_kubectl_create_of_builtins_sends_protobuf_and_is_read(kubectl: Kubectl) -> None:
    commands = [
        ("create", "namespace", "team-x"),
        ("create", "configmap", "cfg", "-n", "team-x", "--from-literal=a=b"),
        ("create", "secret", "generic", "s", "-n", "team-x", "--from-literal=k=v"),
        ("create", "serviceaccount", "robot", "-n", "team-x"),
    ]
    for command in commands:
        code, _, err = await kubectl(*command)
        assert code == 0, (command, err)
    creates = kubectl.emu.request_log.filter(verb="create")
    assert len(creates) == len(commands)
    namespace = kubectl.emu.read("namespaces", None, "team-x")
    assert namespace is not None
    assert namespace["status"] == {"phase": "Active"}
    config = kubectl.emu.read("configmaps", "team-x", "cfg")
    assert config is not None
    assert config["data"] == {"a": "b"}
    secret = kubectl.emu.read("secrets", "team-x", "s")
    assert secret is not None
    assert secret["data"] == {"k": "dg=="}
    assert kubectl.emu.read("serviceaccounts", "team-x", "robot") is not None
