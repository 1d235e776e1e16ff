"""The two Tekton test bundles of the Kind e2e (testing.md's outcome table): their shape, their
schema (against Tekton v1.7.0's CRDs, an oracle outside the repo) and their scripts' exit codes."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubernaut_wfe_tools.crdschema import CustomResourceSchema, load_crd_documents
from kubernaut_wfe_tools.tekton_simulator.scenario import HELLO_WORLD_WORKSPACES

from .conftest import REPO_ROOT  # noqa: TID252

BUNDLES = REPO_ROOT / "tests" / "e2e" / "bundles"
TEKTON_CRDS = REPO_ROOT.parent / "shared" / "tekton-crds"
SHAPES = {"hello-world": ("hello", "echo"), "failing": ("fail-task", "fail")}
RESTRICTED_STEP = {
    "runAsNonRoot": True,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def _pipeline(bundle: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(
        (BUNDLES / bundle / "pipeline.yaml").read_text(encoding="utf-8")
    )
    return loaded


def _step(bundle: str) -> dict[str, Any]:
    step: dict[str, Any] = _pipeline(bundle)["spec"]["tasks"][0]["taskSpec"]["steps"][0]
    return step


def _schema(file_name: str) -> CustomResourceSchema:
    if not TEKTON_CRDS.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"the Tekton CRD oracle {TEKTON_CRDS} is missing")
        pytest.skip(f"the Tekton CRD oracle {TEKTON_CRDS} is not beside this checkout")
    crd = load_crd_documents(TEKTON_CRDS / file_name)[0]
    return CustomResourceSchema.for_served_versions(crd)["v1"]


@pytest.mark.parametrize("bundle", sorted(SHAPES))
def test_the_bundle_has_the_shape_the_simulator_plays(bundle: str) -> None:
    pipeline = _pipeline(bundle)
    assert pipeline["apiVersion"] == "tekton.dev/v1"
    assert pipeline["kind"] == "Pipeline"
    assert pipeline["metadata"]["name"] == "workflow"
    tasks = pipeline["spec"]["tasks"]
    assert [t["name"] for t in tasks] == [SHAPES[bundle][0]]
    assert [s["name"] for s in tasks[0]["taskSpec"]["steps"]] == [SHAPES[bundle][1]]
    params = {p["name"]: p.get("default") for p in pipeline["spec"]["params"]}
    assert params["DELAY_SECONDS"] == "2"
    assert "TARGET_RESOURCE" in params, "the controller always passes TARGET_RESOURCE"
    if bundle == "failing":
        assert params["FAILURE_MODE"] == "exit"


@pytest.mark.parametrize("bundle", sorted(SHAPES))
def test_the_bundle_passes_tektons_schemas(bundle: str) -> None:
    pipeline = _pipeline(bundle)
    pipeline_schema = _schema("300-pipeline.yaml")
    assert pipeline_schema.validate(pipeline) == []
    assert pipeline_schema.prune(pipeline)[1] == []
    task_schema = _schema("300-task.yaml")
    for task in pipeline["spec"]["tasks"]:
        as_task = {
            "apiVersion": "tekton.dev/v1",
            "kind": "Task",
            "metadata": {"name": task["name"]},
            "spec": task["taskSpec"],
        }
        assert task_schema.validate(as_task) == []
        assert task_schema.prune(as_task)[1] == [], "a field Tekton would drop"


@pytest.mark.parametrize("bundle", sorted(SHAPES))
def test_the_step_meets_the_restricted_pod_security_standard(bundle: str) -> None:
    step = _step(bundle)
    context = step["securityContext"]
    assert {key: context.get(key) for key in RESTRICTED_STEP} == RESTRICTED_STEP
    assert context["runAsUser"] != 0
    assert step["computeResources"]["limits"]["memory"] == "32Mi"


def _run_script(bundle: str, **env: str) -> subprocess.CompletedProcess[str]:
    shell = shutil.which("sh")
    assert shell is not None
    return subprocess.run(
        [shell, "-c", _step(bundle)["script"]],
        env={"PATH": os.environ.get("PATH", ""), **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_hello_world_succeeds_and_names_its_target() -> None:
    done = _run_script("hello-world", DELAY_SECONDS="0", TARGET_RESOURCE="default/deployment/x")
    assert done.returncode == 0, done.stderr
    assert "default/deployment/x" in done.stdout


@pytest.mark.parametrize("mode", ["exit", "no-such-mode"])
def test_failing_exits_1_by_default_and_on_unknown_modes(mode: str) -> None:
    done = _run_script("failing", DELAY_SECONDS="0", FAILURE_MODE=mode)
    assert done.returncode == 1
    assert f"FAILURE_MODE={mode}" in done.stderr


def test_failing_knows_the_oom_and_timeout_modes() -> None:
    script = _step("failing")["script"]
    oom = script[script.index("oom)") : script.index(";;")]
    assert "bs=128M" in oom, "allocates well beyond the 32Mi limit"
    assert "sleep 86400" in script[script.index("timeout)") :]


def test_hello_world_declares_the_dependency_workspaces_the_simulator_plays() -> None:
    pipeline = _pipeline("hello-world")["spec"]
    (task,) = pipeline["tasks"]
    assert pipeline["workspaces"] == [
        {"name": name, "optional": True} for name in HELLO_WORLD_WORKSPACES
    ]
    assert task["workspaces"] == [{"name": n, "workspace": n} for n in HELLO_WORLD_WORKSPACES]
    assert task["taskSpec"]["workspaces"] == [
        {"name": name, "optional": True, "readOnly": True} for name in HELLO_WORLD_WORKSPACES
    ]
    assert "workspaces" not in _pipeline("failing")["spec"]


def test_the_bundles_are_the_ones_pushed() -> None:
    assert sorted(p.name for p in BUNDLES.iterdir()) == sorted(SHAPES)
    assert all(Path(BUNDLES / b / "pipeline.yaml").is_file() for b in SHAPES)
