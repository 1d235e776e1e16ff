"""Fixtures: the real Tekton v1.7.0 CRD schemas as JSON Schema, and a timeline replayer."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from kubernaut_wfe_tools.tekton_simulator.timeline import Write, WriteKind

CRD_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "tekton-crds"
CRD_FILES = {"PipelineRun": "300-pipelinerun.yaml", "TaskRun": "300-taskrun.yaml"}

Validate = Callable[[Mapping[str, Any]], None]


def to_json_schema(schema: Any) -> Any:
    """An OpenAPI v3 structural schema as JSON Schema, strict about unknown fields.

    `nullable` adds null to the type; `x-kubernetes-int-or-string` becomes integer-or-string;
    `x-kubernetes-preserve-unknown-fields` allows unknown fields; other `x-kubernetes-*` keys are
    ignored. Objects with declared properties refuse undeclared ones (the API server would
    silently prune them, which would hide a typo in a simulated document).
    """
    if isinstance(schema, list):
        return [to_json_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted: dict[str, Any] = {}
    for key, value in schema.items():
        if key.startswith("x-kubernetes-") or key in {"nullable", "description"}:
            continue
        if key in {"properties", "patternProperties", "definitions"}:
            converted[key] = {name: to_json_schema(sub) for name, sub in value.items()}
        else:
            converted[key] = to_json_schema(value)
    if schema.get("x-kubernetes-int-or-string"):
        converted.pop("type", None)
        converted["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if schema.get("nullable") and "type" in converted:
        converted["type"] = [converted["type"], "null"]
    preserve = schema.get("x-kubernetes-preserve-unknown-fields")
    if "properties" in schema and "additionalProperties" not in schema and not preserve:
        converted["additionalProperties"] = False
    return converted


def _format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker()

    @checker.checks("int32")
    def _int32(value: object) -> bool:
        return not isinstance(value, int) or -(2**31) <= value < 2**31

    @checker.checks("int64")
    def _int64(value: object) -> bool:
        return not isinstance(value, int) or -(2**63) <= value < 2**63

    return checker


@pytest.fixture(scope="session")
def crd_validators() -> dict[str, Validate]:
    """kind -> a function that raises ValidationError unless the object fits the v1 schema."""
    if not CRD_DIR.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"the Tekton CRD oracle is missing at {CRD_DIR}")
        pytest.skip(f"the Tekton CRD oracle is not available at {CRD_DIR}")
    validators: dict[str, Validate] = {}
    checker = _format_checker()
    for kind, filename in CRD_FILES.items():
        crd = yaml.safe_load((CRD_DIR / filename).read_text())
        (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
        schema = to_json_schema(version["schema"]["openAPIV3Schema"])
        jsonschema.Draft202012Validator.check_schema(schema)
        validator = jsonschema.Draft202012Validator(schema, format_checker=checker)
        validators[kind] = validator.validate
    return validators


def replay(
    pipelinerun: Mapping[str, Any], writes: Iterable[Write]
) -> list[tuple[Write, dict[str, Any]]]:
    """Apply writes to an in-memory copy of the objects; yield each write with the object after."""
    objects: dict[tuple[str, str], dict[str, Any]] = {
        ("PipelineRun", pipelinerun["metadata"]["name"]): copy.deepcopy(dict(pipelinerun))
    }
    snapshots = []
    for write in writes:
        kind = "PipelineRun" if write.kind.startswith("pipelinerun") else "TaskRun"
        key = (kind, write.name)
        if write.kind is WriteKind.TASKRUN_CREATE:
            objects[key] = copy.deepcopy(dict(write.document))
        target = objects[key]
        if write.kind is WriteKind.PIPELINERUN_LABELS:
            target["metadata"].setdefault("labels", {}).update(write.document)
        elif write.kind in {WriteKind.PIPELINERUN_STATUS, WriteKind.TASKRUN_STATUS}:
            target["status"] = copy.deepcopy(dict(write.document))
        elif write.kind is WriteKind.TASKRUN_SPEC:
            target["spec"].update(write.document)
        snapshots.append((write, copy.deepcopy(target)))
    return snapshots


@pytest.fixture
def replayer() -> Callable[
    [Mapping[str, Any], Iterable[Write]], list[tuple[Write, dict[str, Any]]]
]:
    return replay
