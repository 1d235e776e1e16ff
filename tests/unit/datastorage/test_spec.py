"""The project's DataStorage spec: valid OpenAPI, wire-compatible."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from kubernaut_wfe.constants import AUDIT_CATEGORY, AuditEventType
from kubernaut_wfe_tools.testing.oracles import HEALTH_PATHS

REPO_ROOT = Path(__file__).resolve().parents[3]
SPEC_PATH = REPO_ROOT / "api" / "openapi" / "data-storage-v1.yaml"

# Where the subset deliberately differs from the real spec, with the reason.
EXTENSION_SCHEMAS = {
    # The real service answers a queued event with {status, message}; its spec says
    # AuditEventResponse. audit.md documents the body the service really sends.
    "AuditEventAcceptedResponse",
}
DIFFERENT_RESPONSE_SCHEMAS = {("/api/v1/audit/events", "post", "202")}
EXTENSION_PATHS = HEALTH_PATHS
# Keywords whose value must be identical wherever both specs define a schema.
COMPARED_KEYWORDS = ("type", "format", "enum", "nullable", "minLength", "maxLength")
COMPARED_PARAMETER_KEYWORDS = ("type", "enum", "minimum", "maximum")
SPEC_TYPES = {"workflowexecution.workflow.started", *AuditEventType}


def test_spec_is_valid_openapi_3_0(our_spec: dict[str, Any]) -> None:
    assert our_spec["openapi"] == "3.0.3"
    validate(our_spec)


def test_discriminator_maps_exactly_the_workflowexecution_types(our_spec: dict[str, Any]) -> None:
    schemas = our_spec["components"]["schemas"]
    event_data = schemas["AuditEventRequest"]["properties"]["event_data"]
    payload_ref = "#/components/schemas/WorkflowExecutionAuditPayload"
    assert event_data["oneOf"] == [{"$ref": payload_ref}]
    assert event_data["discriminator"]["propertyName"] == "event_type"
    assert event_data["discriminator"]["mapping"] == dict.fromkeys(SPEC_TYPES, payload_ref)
    payload = schemas["WorkflowExecutionAuditPayload"]
    assert set(payload["properties"]["event_type"]["enum"]) == SPEC_TYPES
    assert "event_type" in payload["required"]


def test_category_enum_has_workflowexecution(our_spec: dict[str, Any]) -> None:
    request = our_spec["components"]["schemas"]["AuditEventRequest"]
    assert AUDIT_CATEGORY in request["properties"]["event_category"]["enum"]


@pytest.mark.parametrize(
    "rule",
    ["5 minutes", "7 days", "event_data.event_type", "workflowexecution.*", "workflow.started"],
)
def test_server_rules_are_documented(our_spec: dict[str, Any], rule: str) -> None:
    assert rule in our_spec["info"]["description"]


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        *_, name = node["$ref"].split("/")
        node = spec["components"]["schemas"][name]
    return node


def _compare(ours: dict[str, Any], real: dict[str, Any], path: str) -> list[str]:
    """Differences of `ours` from `real`: ours may omit things, never add or change them."""
    problems: list[str] = []
    if "$ref" in ours or "$ref" in real:
        if ours.get("$ref") != real.get("$ref"):
            problems.append(f"{path}: $ref {ours.get('$ref')!r} != {real.get('$ref')!r}")
        return problems
    problems += [
        f"{path}: {keyword} {ours.get(keyword)!r} != {real.get(keyword)!r}"
        for keyword in COMPARED_KEYWORDS
        if ours.get(keyword) != real.get(keyword)
    ]
    if set(ours.get("required", [])) != set(real.get("required", [])):
        problems.append(f"{path}: required {ours.get('required')} != {real.get('required')}")
    real_properties = real.get("properties", {})
    for name, schema in ours.get("properties", {}).items():
        if name not in real_properties:
            problems.append(f"{path}.{name}: not in the real spec")
        else:
            problems += _compare(schema, real_properties[name], f"{path}.{name}")
    if "items" in ours:
        problems += _compare(ours["items"], real.get("items", {}), f"{path}[]")
    if "additionalProperties" in ours:
        problems += _compare(
            ours["additionalProperties"], real.get("additionalProperties", {}), f"{path}{{}}"
        )
    for keyword in ("allOf", "oneOf"):
        if keyword in ours:
            problems += _compare_list(ours[keyword], real.get(keyword, []), f"{path}.{keyword}")
    if "discriminator" in ours:
        real_discriminator = real.get("discriminator", {})
        if ours["discriminator"]["propertyName"] != real_discriminator.get("propertyName"):
            problems.append(f"{path}: discriminator propertyName differs")
        real_mapping = real_discriminator.get("mapping", {})
        problems += [
            f"{path}: mapping {value!r}: {target!r} != {real_mapping.get(value)!r}"
            for value, target in ours["discriminator"]["mapping"].items()
            if real_mapping.get(value) != target
        ]
    return problems


def _compare_list(ours: list[Any], real: list[Any], path: str) -> list[str]:
    if path.endswith("oneOf"):
        return [f"{path}: {member} not in the real spec" for member in ours if member not in real]
    if len(ours) != len(real):
        return [f"{path}: {len(ours)} members != {len(real)}"]
    problems: list[str] = []
    for index, (mine, theirs) in enumerate(zip(ours, real, strict=True)):
        problems += _compare(mine, theirs, f"{path}[{index}]")
    return problems


def test_every_schema_matches_the_real_spec(
    our_spec: dict[str, Any], real_spec: dict[str, Any]
) -> None:
    real_schemas = real_spec["components"]["schemas"]
    problems: list[str] = []
    for name, schema in our_spec["components"]["schemas"].items():
        if name in EXTENSION_SCHEMAS:
            assert name not in real_schemas, f"{name} exists upstream now: compare it"
        elif name not in real_schemas:
            problems.append(f"{name}: not in the real spec")
        else:
            problems += _compare(schema, real_schemas[name], name)
    assert problems == []


def test_every_operation_matches_the_real_spec(
    our_spec: dict[str, Any], real_spec: dict[str, Any]
) -> None:
    problems: list[str] = []
    for path, operations in our_spec["paths"].items():
        if path in EXTENSION_PATHS:
            assert path not in real_spec["paths"], f"{path} is in the real spec now: compare it"
            continue
        for method, operation in operations.items():
            real = real_spec["paths"].get(path, {}).get(method)
            if real is None:
                problems.append(f"{method.upper()} {path}: not in the real spec")
                continue
            if operation["operationId"] != real["operationId"]:
                problems.append(f"{method.upper()} {path}: operationId differs")
            problems += _compare_parameters(operation, real, f"{method.upper()} {path}")
            problems += _compare_bodies(operation, real, path, method)
    assert problems == []


def _compare_parameters(operation: dict[str, Any], real: dict[str, Any], where: str) -> list[str]:
    real_parameters = {p["name"]: p for p in real.get("parameters", [])}
    problems: list[str] = []
    for parameter in operation.get("parameters", []):
        theirs = real_parameters.get(parameter["name"])
        if theirs is None or theirs["in"] != parameter["in"]:
            problems.append(f"{where}: parameter {parameter['name']} not in the real spec")
            continue
        problems += [
            f"{where}: parameter {parameter['name']} {keyword} differs"
            for keyword in COMPARED_PARAMETER_KEYWORDS
            if parameter["schema"].get(keyword) != theirs["schema"].get(keyword)
        ]
    return problems


def _compare_bodies(
    operation: dict[str, Any], real: dict[str, Any], path: str, method: str
) -> list[str]:
    where = f"{method.upper()} {path}"
    problems: list[str] = []
    if "requestBody" in operation:
        ours = operation["requestBody"]["content"]["application/json"]["schema"]
        theirs = real["requestBody"]["content"]["application/json"]["schema"]
        problems += _compare(ours, theirs, f"{where} body")
    for status, response in operation["responses"].items():
        real_response = real["responses"].get(status)
        if real_response is None or (path, method, status) in DIFFERENT_RESPONSE_SCHEMAS:
            continue
        for media_type, content in response.get("content", {}).items():
            real_content = real_response.get("content", {}).get(media_type)
            if real_content is None:
                problems.append(f"{where} {status}: {media_type} not in the real spec")
            else:
                problems += _compare(content["schema"], real_content["schema"], f"{where} {status}")
    return problems


def test_wire_check_catches_a_renamed_property(
    our_spec: dict[str, Any], real_spec: dict[str, Any]
) -> None:
    payload = dict(our_spec["components"]["schemas"]["WorkflowExecutionAuditPayload"])
    payload["properties"] = {**payload["properties"], "pipelineRunName": {"type": "string"}}
    real = real_spec["components"]["schemas"]["WorkflowExecutionAuditPayload"]
    assert _compare(payload, real, "WorkflowExecutionAuditPayload") == [
        "WorkflowExecutionAuditPayload.pipelineRunName: not in the real spec"
    ]
