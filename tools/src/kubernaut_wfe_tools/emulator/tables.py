"""`meta.k8s.io/v1` Table responses (what `kubectl get` asks for), with a CRD's printer columns."""

from __future__ import annotations

import datetime
import json
import re
from typing import Any

from kubernaut_wfe_tools.emulator.resources import ResourceType

_FILTER = re.compile(r"^\[\?\(@\.([A-Za-z0-9_]+)\s*==\s*[\"']([^\"']*)[\"']\)\]")
_NAME_COLUMN = {
    "name": "Name",
    "type": "string",
    "format": "name",
    "description": (
        "Name must be unique within a namespace. Is required when creating resources, although"
        " some resources may allow a client to request the generation of an appropriate name"
        " automatically. Name is primarily intended for creation idempotence and configuration"
        " definition. Cannot be updated. More info:"
        " https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
    ),
    "priority": 0,
}
_AGE_COLUMN = {
    "name": "Age",
    "type": "date",
    "jsonPath": ".metadata.creationTimestamp",
    "description": "",
}


def wants_table(accept: str) -> bool:
    """Whether the Accept header asks for a Table first."""
    first = accept.split(",", maxsplit=1)[0]
    return "as=Table" in first


def evaluate_path(obj: Any, path: str) -> Any:
    """A printer-column JSONPath: `.a.b`, `.a[0]`, `.a[?(@.type=="X")].b`."""
    current: list[Any] = [obj]
    rest = path.strip()
    while rest:
        if rest.startswith("."):
            match = re.match(r"^\.([A-Za-z0-9_\-]+)", rest)
            if match is None:
                return None
            key = match.group(1)
            current = [c.get(key) for c in current if isinstance(c, dict) and key in c]
            rest = rest[match.end() :]
        elif filter_match := _FILTER.match(rest):
            field, value = filter_match.groups()
            current = [
                item
                for c in current
                if isinstance(c, list)
                for item in c
                if isinstance(item, dict) and str(item.get(field)) == value
            ]
            rest = rest[filter_match.end() :]
        elif index_match := re.match(r"^\[(\d+)\]", rest):
            index = int(index_match.group(1))
            current = [c[index] for c in current if isinstance(c, list) and len(c) > index]
            rest = rest[index_match.end() :]
        else:
            return None
    return current[0] if current else None


def human_age(timestamp: str, now: datetime.datetime) -> str:
    """`5s`, `3m`, `2h`, `4d`, as kubectl prints ages."""
    try:
        moment = datetime.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.UTC
        )
    except ValueError:
        return "<invalid>"
    seconds = max(0, int((now - moment).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * 2 or (unit == "m" and seconds >= 120):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _cell(value: Any, column: dict[str, Any], now: datetime.datetime) -> Any:
    if value is None:
        return None
    if column.get("type") == "date" and isinstance(value, str):
        return human_age(value, now)
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def table(
    res: ResourceType,
    objects: list[dict[str, Any]],
    list_meta: dict[str, Any],
    now: datetime.datetime,
) -> dict[str, Any]:
    """A Table of the objects with Name plus the printer columns (Name and Age by default)."""
    columns = list(res.printer_columns) or [_AGE_COLUMN]
    definitions = [_NAME_COLUMN] + [
        {
            "name": c["name"],
            "type": c.get("type", "string"),
            "format": c.get("format", ""),
            "description": c["description"]
            if "description" in c
            else f"Custom resource definition column (in JSONPath format): {c['jsonPath']}",
            "priority": c.get("priority", 0),
        }
        for c in columns
    ]
    rows = []
    for obj in objects:
        metadata = obj.get("metadata") or {}
        cells = [metadata.get("name")] + [
            _cell(evaluate_path(obj, c["jsonPath"]), c, now) for c in columns
        ]
        rows.append(
            {
                "cells": cells,
                "object": {
                    "kind": "PartialObjectMetadata",
                    "apiVersion": "meta.k8s.io/v1",
                    "metadata": metadata,
                },
            }
        )
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": definitions,
        "rows": rows,
    }
