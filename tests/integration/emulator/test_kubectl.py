"""kubectl against the emulator (the machines' kubectl 1.32, the release the emulator reports) and
against the real API server (the cluster's own kubectl 1.36): apply (default validation), get,
explain, patch, delete, create of built-in kinds (a protobuf body) and of a List."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubernaut_wfe_tools.testing.catalog_fixtures import catalog_wfe

from .fidelity import WFE, Api, unique  # noqa: TID252

KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
KUBECTL_PRESENT = Path(KUBECTL).exists()

WFE_MANIFEST = """\
apiVersion: kubernaut.ai/v1alpha1
kind: WorkflowExecution
metadata:
  name: {name}
spec:
  remediationRequestRef:
    name: rr-1
  workflowRef:
    workflowId: hello-world
    version: "1.0.0"
    containerImage: quay.io/kubernaut/workflows/hello-world:v1
  targetResource: default/deployment/nginx
{extra}"""


class Kubectl:
    """Runs a kubectl on one target, in the test's namespace."""

    def __init__(self, api: Api, binary: str, config: Path, cache: Path) -> None:
        self.api = api
        self.binary = binary
        self.config = config
        self.cache = cache

    def command(self, *args: str) -> list[str]:
        return [
            self.binary,
            f"--kubeconfig={self.config}",
            f"--cache-dir={self.cache}",
            f"--namespace={self.api.namespace}",
            *args,
        ]

    async def __call__(self, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            *self.command(*args),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(
            process.communicate(stdin.encode() if stdin is not None else None), 30
        )
        assert process.returncode is not None
        return process.returncode, out.decode(), err.decode()

    async def apply(self, name: str, extra: str = "") -> tuple[int, str, str]:
        return await self("apply", "-f", "-", stdin=WFE_MANIFEST.format(name=name, extra=extra))

    async def read(self, path: str) -> dict[str, Any] | None:
        response = await self.api.client.get(path)
        if response.status_code == 404:
            return None
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found


@pytest.fixture
async def kubectl(api: Api, tmp_path: Path) -> AsyncIterator[Kubectl]:
    if api.emulator is not None:
        if not KUBECTL_PRESENT:
            if os.environ.get("CI"):
                pytest.fail(f"kubectl is required in CI but missing at {KUBECTL}")
            pytest.skip("kubectl is not installed")
        config = api.emulator.write_kubeconfig(tmp_path / "kubeconfig")
        yield Kubectl(api, KUBECTL, config, tmp_path / "cache")
    else:
        assert api.cluster is not None
        binary = str(api.cluster.binaries / "kubectl")
        yield Kubectl(api, binary, api.cluster.admin_kubeconfig, tmp_path / "cache")


async def test_kubectl_apply_with_default_validation_creates_and_updates(kubectl: Kubectl) -> None:
    api = kubectl.api
    code, out, err = await kubectl.apply("a")
    assert code == 0, err
    assert "workflowexecution.kubernaut.ai/a created" in out
    stored = await kubectl.read(f"{api.wfes}/a")
    assert stored is not None
    assert "kubectl.kubernetes.io/last-applied-configuration" in stored["metadata"]["annotations"]
    same = await kubectl.apply("a")
    assert same[0] == 0
    assert "unchanged" in same[1]
    assert await api.requests("patch", "workflowexecutions") == []


async def test_kubectl_apply_rejects_unknown_fields_and_schema_violations(
    kubectl: Kubectl,
) -> None:
    code, _, err = await kubectl.apply("b", "  bogusField: 1\n")
    assert code == 1
    assert 'strict decoding error: unknown field "spec.bogusField"' in err
    code, _, err = await kubectl.apply("c", "  confidence: 7\n")
    assert code == 1
    assert "spec.confidence" in err
    for name in ("b", "c"):
        assert await kubectl.read(f"{kubectl.api.wfes}/{name}") is None


async def test_kubectl_apply_of_a_changed_spec_hits_the_cel_rule(kubectl: Kubectl) -> None:
    assert (await kubectl.apply("d"))[0] == 0
    changed = WFE_MANIFEST.format(name="d", extra="").replace("nginx", "apache")
    code, _, err = await kubectl("apply", "-f", "-", stdin=changed)
    assert code == 1
    assert "spec is immutable after creation" in err


async def test_kubectl_get_wfe_prints_the_printer_columns(kubectl: Kubectl) -> None:
    assert (await kubectl.apply("e"))[0] == 0
    code, out, err = await kubectl("get", "wfe")
    assert code == 0, err
    header, row = out.splitlines()[:2]
    assert header.split() == ["NAME", "PHASE", "WORKFLOW", "TARGET", "DURATION", "AGE"]
    # a January WFE has no workflowName: only its name, target and age are printed
    assert row.split()[:2] == ["e", "default/deployment/nginx"]
    code, out, err = await kubectl("get", "wfe", "-o", "wide")
    assert code == 0, err
    header, row = out.splitlines()[:2]
    assert header.split() == [
        "NAME", "PHASE", "WORKFLOW", "WORKFLOWID", "TARGET", "DURATION", "REASON", "AGE",
    ]  # fmt: skip
    assert row.split()[:3] == ["e", "hello-world", "default/deployment/nginx"]


async def test_kubectl_get_wfe_of_one_remediation_request(kubectl: Kubectl) -> None:
    catalog = catalog_wfe("cat", kubectl.api.namespace)
    catalog["spec"]["remediationRequestRef"] = {"name": "rr-2"}
    code, _, err = await kubectl("apply", "-f", "-", stdin=yaml.safe_dump(catalog))
    assert code == 0, err
    assert (await kubectl.apply("h"))[0] == 0  # remediation request rr-1
    code, out, err = await kubectl(
        "get", "wfe", "--field-selector", "spec.remediationRequestRef.name=rr-2"
    )
    assert code == 0, err
    header, *rows = out.splitlines()
    assert header.split() == ["NAME", "PHASE", "WORKFLOW", "TARGET", "DURATION", "AGE"]
    assert [row.split()[:3] for row in rows] == [
        ["cat", "hello-world", f"{kubectl.api.namespace}/deployment/nginx"]
    ]
    code, _, err = await kubectl("get", "wfe", "--field-selector", "spec.targetResource=x")
    assert code == 1
    assert "field label not supported: spec.targetResource" in err


async def test_kubectl_explain_reads_the_crd_schema(kubectl: Kubectl) -> None:
    code, out, err = await kubectl("explain", "workflowexecution.spec")
    assert code == 0, err
    assert "KIND:       WorkflowExecution" in out
    assert "workflowRef" in out
    assert "targetResource" in out


async def test_kubectl_patch_status_subresource_and_delete(kubectl: Kubectl) -> None:
    assert (await kubectl.apply("f"))[0] == 0
    code, _, err = await kubectl(
        "patch", "wfe", "f", "--subresource=status", "--type=merge",
        "-p", '{"status":{"phase":"Running"}}',
    )  # fmt: skip
    assert code == 0, err
    code, out, _ = await kubectl("get", "wfe", "f", "-o", "jsonpath={.status.phase}")
    assert out == "Running"
    code, _, err = await kubectl(
        "patch", "wfe", "f", "--subresource=status", "--type=merge",
        "-p", '{"status":{"phase":"Bogus"}}',
    )  # fmt: skip
    assert code == 1
    assert "status.phase" in err
    code, out, err = await kubectl("delete", "wfe", "f")
    assert code == 0, err
    assert out.startswith('workflowexecution.kubernaut.ai "f" deleted')
    assert await kubectl.read(f"{kubectl.api.wfes}/f") is None


async def test_kubectl_lists_builtins(kubectl: Kubectl) -> None:
    code, out, err = await kubectl("get", "namespaces", "-o", "name")
    assert code == 0, err
    assert {"namespace/kube-system", f"namespace/{kubectl.api.namespace}"} <= set(out.split())
    code, out, err = await kubectl("get", "crd", "-o", "name")
    assert code == 0, err
    assert "customresourcedefinition.apiextensions.k8s.io/pipelineruns.tekton.dev" in out.split()


async def test_kubectl_get_watch_prints_new_rows(kubectl: Kubectl) -> None:
    process = await asyncio.create_subprocess_exec(
        *kubectl.command("get", "wfe", "-w", "--output-watch-events"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None

        async def watching() -> list[str]:
            # kubectl is another process: the server's record shows its watch request
            return await kubectl.api.requests("watch", "workflowexecutions")

        await kubectl.api.eventually(watching, "kubectl's watch request", within=20)
        assert (await kubectl.apply("g"))[0] == 0
        lines: list[str] = []
        while not any(line.split()[:2] == ["ADDED", "g"] for line in lines):
            lines.append((await asyncio.wait_for(process.stdout.readline(), 20)).decode())
    finally:
        process.kill()
        await process.wait()


async def test_kubectl_create_of_builtins_sends_protobuf_and_is_read(kubectl: Kubectl) -> None:
    api = kubectl.api
    team = unique("team")
    api.namespaces.append(team)  # deleted at the end on the cluster
    commands = [
        ("create", "namespace", team),
        ("create", "configmap", "cfg", "-n", team, "--from-literal=a=b"),
        ("create", "secret", "generic", "s", "-n", team, "--from-literal=k=v"),
        ("create", "serviceaccount", "robot", "-n", team),
    ]
    for command in commands:
        code, _, err = await kubectl(*command)
        assert code == 0, (command, err)
    namespace = await kubectl.read(f"/api/v1/namespaces/{team}")
    assert namespace is not None
    assert namespace["status"] == {"phase": "Active"}
    config = await kubectl.read(f"/api/v1/namespaces/{team}/configmaps/cfg")
    assert config is not None
    assert config["data"] == {"a": "b"}
    secret = await kubectl.read(f"/api/v1/namespaces/{team}/secrets/s")
    assert secret is not None
    assert (secret["type"], secret["data"]) == ("Opaque", {"k": "dg=="})
    assert await kubectl.read(f"/api/v1/namespaces/{team}/serviceaccounts/robot") is not None


LIST_MANIFEST = yaml.safe_dump(
    {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "first"},
                "data": {"a": "1"},
            },
            {**WFE, "metadata": {"name": "second"}},
        ],
    }
)


@pytest.mark.parametrize("verb", ["create", "apply"])
async def test_kubectl_create_and_apply_of_a_list(kubectl: Kubectl, verb: str) -> None:
    code, out, err = await kubectl(verb, "-f", "-", stdin=LIST_MANIFEST)
    assert code == 0, err
    assert "configmap/first created" in out
    assert "workflowexecution.kubernaut.ai/second created" in out
    config = await kubectl.read(f"{kubectl.api.path('configmaps')}/first")
    assert config is not None
    assert config["data"] == {"a": "1"}
    assert await kubectl.read(f"{kubectl.api.wfes}/second") is not None
