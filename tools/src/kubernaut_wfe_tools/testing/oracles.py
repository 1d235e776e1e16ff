"""Where the platform's own specifications are (`../shared/`, beside the checkout): test oracles,
read in place and never copied into the repository."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from kubernaut_wfe.constants import DataStorageContract

SHARED: Final = Path(__file__).resolve().parents[4].parent / "shared"
"""The platform's files handed to the project (specs, upstream CRD and config, DataStorage)."""

DATASTORAGE_SPECS: Final = {
    DataStorageContract.AUGUST_2026: SHARED / "upstream-2026-08" / "data-storage-v1.yaml",
    DataStorageContract.JANUARY_2026: SHARED / "datastorage-openapi" / "data-storage-v1.yaml",
}
"""The real DataStorage service's OpenAPI spec of each contract the controller speaks."""

NEWEST_DATASTORAGE_SPEC: Final = DATASTORAGE_SPECS[DataStorageContract.AUGUST_2026]
"""The spec the project's subset (`api/openapi/`) follows and the audit service serves."""

HEALTH_PATHS: Final = frozenset({"/health", "/health/ready", "/health/live"})
"""Served by the project's audit service beside its API; the newest DataStorage serves them on a
health server of its own, outside its API spec, so the spec cannot judge them."""

UPSTREAM_CONFIG: Final = SHARED / "upstream-2026-08" / "workflowexecution-config.yaml"
"""The platform's WorkflowExecution controller config file of August 2026."""
