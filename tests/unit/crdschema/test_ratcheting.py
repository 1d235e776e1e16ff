"""Validation ratcheting (the 1.30+ default): unchanged invalid parts do not block updates."""

from __future__ import annotations

import copy
from typing import Any

from kubernaut_wfe_tools.crdschema import CustomResourceSchema


def _invalid_old(wfe: dict[str, Any]) -> dict[str, Any]:
    """A WFE written under an older, looser CRD: bad target and a reserved parameter."""
    old = copy.deepcopy(wfe)
    old["spec"]["targetResource"] = "nginx"
    old["spec"]["parameters"] = {"TARGET_RESOURCE": "x"}
    return old


def test_status_write_on_an_object_with_an_unchanged_invalid_spec_is_accepted(
    wfe_schema: CustomResourceSchema, wfe: dict[str, Any]
) -> None:
    old = _invalid_old(wfe)
    new = copy.deepcopy(old)
    new["status"] = {"phase": "Failed"}
    assert wfe_schema.validate(new, old=old) == []


def test_without_ratcheting_the_unchanged_invalid_spec_is_reported(
    wfe_schema: CustomResourceSchema, wfe: dict[str, Any]
) -> None:
    old = _invalid_old(wfe)
    new = copy.deepcopy(old)
    new["status"] = {"phase": "Failed"}
    fields = [error.field for error in wfe_schema.validate(new, old=old, ratcheting=False)]
    assert fields == ["spec.targetResource", "spec.parameters"]


def test_a_new_invalid_value_is_still_rejected(
    wfe_schema: CustomResourceSchema, wfe: dict[str, Any]
) -> None:
    old = copy.deepcopy(wfe)
    old["status"] = {"phase": "Running"}
    new = copy.deepcopy(old)
    new["status"]["phase"] = "Exploded"
    assert [error.field for error in wfe_schema.validate(new, old=old)] == [
        "status.phase",
        "<nil>",
    ]


def test_only_the_changed_set_item_is_checked(
    wfe_schema: CustomResourceSchema, wfe: dict[str, Any]
) -> None:
    old = copy.deepcopy(wfe)
    old["status"] = {"auditedEvents": ["legacy.event"]}
    new = copy.deepcopy(old)
    new["status"]["auditedEvents"] = ["legacy.event", "another.event"]
    assert [error.field for error in wfe_schema.validate(new, old=old)] == [
        "status.auditedEvents[1]",
        "<nil>",
    ]


def test_transition_rules_still_run_on_changed_specs(
    wfe_schema: CustomResourceSchema, wfe: dict[str, Any]
) -> None:
    old = _invalid_old(wfe)
    new = copy.deepcopy(old)
    new["spec"]["rationale"] = "edited"
    assert [str(error) for error in wfe_schema.validate(new, old=old)] == [
        "spec: Invalid value: spec is immutable after creation"
    ]
