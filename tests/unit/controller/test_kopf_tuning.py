"""The kopf storages for a watching-only operator keep nothing and copy nothing."""

from __future__ import annotations

from typing import Any, cast

import kopf

from kubernaut_wfe.controller.kopf_tuning import (
    NoDiffBaseStorage,
    NoProgressStorage,
    tune_for_watching_only,
)

RAW: dict[str, Any] = {
    "apiVersion": "kubernaut.ai/v1alpha1",
    "kind": "WorkflowExecution",
    "metadata": {"name": "w", "namespace": "ns", "annotations": {"a": "b"}},
    "spec": {"targetResource": "ns/deployment/x"},
    "status": {"phase": "Running"},
}


def test_the_settings_get_both_storages_and_short_lived_workers() -> None:
    settings = kopf.OperatorSettings()
    default_idle = settings.queueing.idle_timeout
    tune_for_watching_only(settings)
    assert isinstance(settings.persistence.diffbase_storage, NoDiffBaseStorage)
    assert isinstance(settings.persistence.progress_storage, NoProgressStorage)
    assert settings.queueing.idle_timeout < default_idle


def test_no_essence_is_built_or_stored_and_nothing_is_patched() -> None:
    storage = NoDiffBaseStorage()
    body = kopf.Body(cast(kopf.RawBody, RAW))
    patch = kopf.Patch()
    assert storage.build(body=body, extra_fields=["status.phase"]) == {}
    assert storage.fetch(body=body) is None
    storage.store(body=body, patch=patch, essence=storage.build(body=body))
    assert not patch


def test_no_progress_is_kept_and_clearing_returns_the_essence_itself() -> None:
    storage = NoProgressStorage()
    body = kopf.Body(cast(kopf.RawBody, RAW))
    patch = kopf.Patch()
    assert storage.fetch(key=kopf.HandlerId("h"), body=body) is None
    storage.store(key=kopf.HandlerId("h"), record={"success": True}, body=body, patch=patch)
    storage.purge(key=kopf.HandlerId("h"), body=body, patch=patch)
    storage.touch(body=body, patch=patch, value="x")
    assert not patch
    essence: Any = {"spec": {"x": 1}}
    assert storage.clear(essence=essence) is essence
