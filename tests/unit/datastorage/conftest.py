"""Fixtures of the DataStorage tests: the project's spec and the real service's spec (oracle)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
SPEC_PATH = REPO_ROOT / "api" / "openapi" / "data-storage-v1.yaml"
ORACLE_PATH = REPO_ROOT.parent / "shared" / "datastorage-openapi" / "data-storage-v1.yaml"


@pytest.fixture(scope="session")
def our_spec() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    return document


@pytest.fixture(scope="session")
def real_spec() -> dict[str, Any]:
    """The real DataStorage spec; skipped only off CI when ../shared is absent."""
    if not ORACLE_PATH.parent.parent.is_dir() and not os.environ.get("CI"):
        pytest.skip(f"oracle folder {ORACLE_PATH.parent.parent} is absent (and CI is not set)")
    document: dict[str, Any] = yaml.safe_load(ORACLE_PATH.read_text(encoding="utf-8"))
    return document
