"""The audit spool's ConfigMap: what a deleted WFE's undelivered events look like in the API,
and how they are read back (refusing what is not a spool)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kubernaut_wfe.core.audit_spool import (
    EVENTS_KEY,
    SELECTOR,
    SpoolError,
    read_spool,
    spool_document,
    spool_name,
)

EVENT = {"event_type": "workflowexecution.workflow.failed", "correlation_id": "rr-x"}


def test_a_spool_is_a_labelled_configmap_naming_its_wfe_and_read_back_unchanged() -> None:
    document = spool_document("kubernaut-system", "uid-1", "team-a/wfe-1", [EVENT])
    assert document["kind"] == "ConfigMap"
    assert document["metadata"]["name"] == spool_name("uid-1") == "wfe-audit-spool-uid-1"
    assert document["metadata"]["namespace"] == "kubernaut-system"
    key, _, value = SELECTOR.partition("=")
    assert document["metadata"]["labels"] == {key: value}
    spooled = read_spool(document)
    assert (spooled.name, spooled.wfe_uid, spooled.wfe) == (
        "wfe-audit-spool-uid-1",
        "uid-1",
        "team-a/wfe-1",
    )
    assert spooled.events == (EVENT,)


def _edited(**changes: Any) -> dict[str, Any]:
    document = spool_document("ns", "uid-1", "ns/wfe", [EVENT])
    for path, value in changes.items():
        section, key = path.split("__")
        document[section][key] = value
    return document


@pytest.mark.parametrize(
    ("document", "says"),
    [
        (_edited(metadata__name="someone-elses"), "not an audit spool"),
        (_edited(metadata__annotations={}), "not an audit spool"),
        (_edited(data__x="y") | {"data": {}}, "missing or not JSON"),
        (_edited() | {"data": {EVENTS_KEY: "{truncated"}}, "missing or not JSON"),
        (_edited() | {"data": {EVENTS_KEY: json.dumps({"one": 1})}}, "not a list of events"),
        (_edited() | {"data": {EVENTS_KEY: json.dumps(["text"])}}, "not a list of events"),
    ],
)
def test_what_is_not_a_readable_spool_is_refused_saying_why(
    document: dict[str, Any], says: str
) -> None:
    with pytest.raises(SpoolError, match=says):
        read_spool(document)
