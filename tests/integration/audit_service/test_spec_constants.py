"""The service's numeric limits are the ones our spec file states (a drift check)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from kubernaut_wfe.audit_service.query import DEFAULT_LIMIT, MAX_LIMIT
from kubernaut_wfe.audit_service.validation import MAX_BATCH_SIZE

SPEC_PATH = Path(__file__).resolve().parents[3] / "api" / "openapi" / "data-storage-v1.yaml"


def _spec() -> Any:
    return yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


def test_batch_size_matches_the_spec() -> None:
    batch = _spec()["paths"]["/api/v1/audit/events/batch"]["post"]["requestBody"]
    schema = batch["content"]["application/json"]["schema"]

    assert (schema["minItems"], schema["maxItems"]) == (1, MAX_BATCH_SIZE)


def test_page_limits_match_the_spec() -> None:
    parameters = _spec()["paths"]["/api/v1/audit/events"]["get"]["parameters"]
    schemas = {parameter["name"]: parameter["schema"] for parameter in parameters}

    assert schemas["limit"] == {
        "type": "integer",
        "default": DEFAULT_LIMIT,
        "minimum": 1,
        "maximum": MAX_LIMIT,
    }
    assert schemas["offset"] == {"type": "integer", "default": 0, "minimum": 0}
