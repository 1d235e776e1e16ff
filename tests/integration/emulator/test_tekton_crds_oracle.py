"""The emulator's own Tekton CRDs against Tekton v1.7.0's (the oracle in ../shared/tekton-crds):
every field we type exists there with the same type, and names, scope, printer columns and the
status subresource agree; and the PipelineRuns and TaskRuns our stack writes (the controller's
run, the simulator's TaskRun and statuses) are admitted alike by the emulator and by the real
API server, which has the oracle installed."""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubernaut_wfe.constants import ConditionStatus
from kubernaut_wfe_tools.emulator.server import TEKTON_CRDS_DIR
from kubernaut_wfe_tools.tekton_simulator.documents.pipelinerun import (
    pipelinerun_finished,
    pipelinerun_running,
)
from kubernaut_wfe_tools.tekton_simulator.documents.taskrun import (
    taskrun_object,
    taskrun_pending,
    taskrun_running,
)
from kubernaut_wfe_tools.tekton_simulator.samples import sample_pipelinerun
from kubernaut_wfe_tools.tekton_simulator.scenario import read_scenario

from .fidelity import MERGE, Api  # noqa: TID252

REPO_ROOT = Path(__file__).resolve().parents[3]
ORACLE = REPO_ROOT.parent / "shared" / "tekton-crds"
PAIRS = [
    ("tekton.dev_pipelineruns.yaml", "300-pipelinerun.yaml"),
    ("tekton.dev_taskruns.yaml", "300-taskrun.yaml"),
]


def _oracle_dir() -> Path:
    if not ORACLE.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"the Tekton CRD oracle is missing at {ORACLE}")
        pytest.skip(f"the Tekton CRD oracle is not present at {ORACLE}")
    return ORACLE


def _crd(path: Path) -> dict[str, Any]:
    documents = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    (crd,) = [d for d in documents if d.get("kind") == "CustomResourceDefinition"]
    result: dict[str, Any] = crd
    return result


def _v1(crd: dict[str, Any]) -> dict[str, Any]:
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    result: dict[str, Any] = version
    return result


def _typed_paths(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, str]]:
    if "type" in schema and path:
        yield path, schema["type"]
    for name, child in (schema.get("properties") or {}).items():
        yield from _typed_paths(child, f"{path}.{name}")
    if isinstance(schema.get("items"), dict):
        yield from _typed_paths(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _typed_paths(schema["additionalProperties"], f"{path}{{}}")


def _lookup(schema: dict[str, Any], path: str) -> dict[str, Any] | None:
    current: dict[str, Any] | None = schema
    for token in path.replace("[]", ".[]").replace("{}", ".{}").strip(".").split("."):
        if current is None:
            return None
        if token == "[]":
            current = current.get("items")
        elif token == "{}":
            extra = current.get("additionalProperties")
            current = extra if isinstance(extra, dict) else None
        else:
            current = (current.get("properties") or {}).get(token)
    return current


@pytest.mark.parametrize(("ours", "theirs"), PAIRS)
def test_every_typed_field_exists_in_tekton_with_the_same_type(ours: str, theirs: str) -> None:
    oracle = _v1(_crd(_oracle_dir() / theirs))["schema"]["openAPIV3Schema"]
    schema = _v1(_crd(TEKTON_CRDS_DIR / ours))["schema"]["openAPIV3Schema"]
    mismatches = []
    for path, kind in _typed_paths(schema):
        if path == ".metadata":
            continue
        real = _lookup(oracle, path)
        if real is None:
            mismatches.append(f"{path}: not in Tekton v1.7.0")
        elif real.get("type") not in (None, kind):
            mismatches.append(f"{path}: {kind} here, {real.get('type')} in Tekton")
    assert mismatches == []


@pytest.mark.parametrize(("ours", "theirs"), PAIRS)
def test_names_scope_columns_and_subresources_match_tekton(ours: str, theirs: str) -> None:
    oracle = _crd(_oracle_dir() / theirs)
    crd = _crd(TEKTON_CRDS_DIR / ours)
    assert crd["metadata"]["name"] == oracle["metadata"]["name"]
    for key in ("group", "scope"):
        assert crd["spec"][key] == oracle["spec"][key]
    for key in ("kind", "plural", "singular", "shortNames", "categories"):
        assert crd["spec"]["names"].get(key) == oracle["spec"]["names"].get(key)
    assert _v1(crd)["additionalPrinterColumns"] == _v1(oracle)["additionalPrinterColumns"]
    assert _v1(crd)["subresources"] == _v1(oracle)["subresources"]


STRICT = {"fieldValidation": "Strict"}


async def _write_status(api: Api, path: str, status: dict[str, Any]) -> None:
    response = await api.client.patch(
        f"{path}/status", params=STRICT, json={"status": status}, headers=MERGE
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == status  # nothing pruned, nothing defaulted


async def test_the_runs_our_stack_writes_are_admitted_whole(api: Api) -> None:
    _oracle_dir()
    sent = sample_pipelinerun(uid=None, namespace=api.namespace, timeout="30m0s")
    response = await api.client.post(api.prs, params=STRICT, json=sent)
    assert response.status_code == 201, response.text
    run = response.json()
    assert run["spec"] == sent["spec"]
    assert run["metadata"]["labels"] == sent["metadata"]["labels"]
    scenario = read_scenario(run, start_lag=datetime.timedelta(seconds=1))
    start = datetime.datetime(2026, 1, 1, 12, 0, tzinfo=datetime.UTC)
    at = start + datetime.timedelta(seconds=2)
    running = pipelinerun_running(scenario, start, at)
    await _write_status(api, f"{api.prs}/{scenario.name}", running)

    taskrun = taskrun_object(scenario)
    response = await api.client.post(api.trs, params=STRICT, json=taskrun)
    assert response.status_code == 201, response.text
    assert response.json()["spec"] == taskrun["spec"]
    path = f"{api.trs}/{taskrun['metadata']['name']}"
    pending = taskrun_pending(scenario, start)
    await _write_status(api, path, pending)
    await _write_status(api, path, taskrun_running(pending, scenario, at))

    done = pipelinerun_finished(
        running, ConditionStatus.TRUE, "Succeeded", "Tasks Completed: 1", at
    )
    await _write_status(api, f"{api.prs}/{scenario.name}", done)
