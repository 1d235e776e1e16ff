"""Fixtures of the DataStorage tests: the project's spec and the real service's spec (oracle)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubernaut_wfe.constants import DataStorageContract
from kubernaut_wfe_tools.testing.oracles import DATASTORAGE_SPECS

REPO_ROOT = Path(__file__).resolve().parents[3]
SPEC_PATH = REPO_ROOT / "api" / "openapi" / "data-storage-v1.yaml"


@pytest.fixture(scope="session")
def our_spec() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    return document


@pytest.fixture(scope="session")
def real_spec() -> dict[str, Any]:
    """The real DataStorage spec of the newest contract (the one the subset follows)."""
    return _oracle(DataStorageContract.AUGUST_2026)


@pytest.fixture(scope="session")
def january_spec() -> dict[str, Any]:
    """The real DataStorage spec of January 2026 (`audit.datastorage_contract: "2026-01"`)."""
    return _oracle(DataStorageContract.JANUARY_2026)


def _oracle(contract: DataStorageContract) -> dict[str, Any]:
    """A real DataStorage spec; skipped only off CI when ../shared is absent."""
    path = DATASTORAGE_SPECS[contract]
    if not path.is_file() and not os.environ.get("CI"):
        pytest.skip(f"oracle {path} is absent (and CI is not set)")
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return document
