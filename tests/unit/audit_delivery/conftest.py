"""Fixtures of the audit delivery tests: the in-memory DataStorage and the real client over it."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client import CollectorRegistry

from kubernaut_wfe.datastorage.client import DataStorageClient
from kubernaut_wfe_tools.testing.fake_datastorage import FakeDataStorage


@pytest.fixture
def datastorage() -> FakeDataStorage:
    return FakeDataStorage()


@pytest.fixture
def client(datastorage: FakeDataStorage) -> DataStorageClient:
    return DataStorageClient(
        "http://datastorage", transport=httpx.MockTransport(datastorage.handle)
    )


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()
