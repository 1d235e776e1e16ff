"""Deletion as the apiserver and its controllers do it: preconditions, finalizers
(deletionTimestamp plus one generation bump), removal, owner garbage collection and namespace
cleanup (the last two at once instead of in the background)."""

from __future__ import annotations

import copy
import datetime
from collections.abc import Callable
from typing import Any

from kubernaut_wfe.emulator import errors
from kubernaut_wfe.emulator.admission import NAMESPACES_KEY, rfc3339
from kubernaut_wfe.emulator.errors import ApiError
from kubernaut_wfe.emulator.resources import ResourceType
from kubernaut_wfe.emulator.store import ObjectStore

PROPAGATION_POLICIES = ("Orphan", "Background", "Foreground")


class Reaper:
    """Deletes objects from an `ObjectStore`."""

    def __init__(self, store: ObjectStore, clock: Callable[[], datetime.datetime]) -> None:
        self.store = store
        self.clock = clock

    def delete(
        self, res: ResourceType, old: dict[str, Any], options_body: Any, *, dry_run: bool
    ) -> dict[str, Any]:
        """DELETE of a stored object with the request's DeleteOptions."""
        options = options_body if isinstance(options_body, dict) else {}
        policy = options.get("propagationPolicy")
        if policy is not None and policy not in PROPAGATION_POLICIES:
            raise ApiError(
                400,
                f'propagationPolicy: Unsupported value: "{policy}": supported values: '
                '"Foreground", "Background", "Orphan"',
            )
        self._check_preconditions(res, old, options.get("preconditions") or {})
        if dry_run:
            return old
        meta = old["metadata"]
        if meta.get("finalizers"):
            if meta.get("deletionTimestamp"):
                return old
            return self.store.put(res.key, self._marked_deleting(old))
        return self.finalize(res, old)

    def _check_preconditions(
        self, res: ResourceType, old: dict[str, Any], preconditions: dict[str, Any]
    ) -> None:
        meta = old["metadata"]
        name = meta["name"]
        for key, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
            expected = preconditions.get(key)
            if expected and expected != meta.get(key):
                raise errors.conflict(
                    res.group,
                    res.plural,
                    name,
                    f"Precondition failed: {label} in precondition: {expected}, "
                    f"{label} in object meta: {meta.get(key)}",
                )

    def _marked_deleting(self, obj: dict[str, Any]) -> dict[str, Any]:
        deleting = copy.deepcopy(obj)
        meta = deleting["metadata"]
        meta["deletionTimestamp"] = rfc3339(self.clock())
        meta["deletionGracePeriodSeconds"] = 0
        if "generation" in meta:
            meta["generation"] = int(meta["generation"]) + 1
        return deleting

    def finalize(self, res: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        """Remove the object (no finalizers left) and clean up after it."""
        final = self.store.remove(res.key, obj)
        uid = obj["metadata"].get("uid")
        if uid:
            self._collect_dependents(uid)
        if res.key == NAMESPACES_KEY:
            self._empty_namespace(obj["metadata"]["name"])
        return final

    def _collect_dependents(self, owner_uid: str) -> None:
        for resource_key, (namespace, name) in self.store.dependents(owner_uid):
            dependent = self.store.get(resource_key, namespace, name)
            if dependent is not None:
                self._delete_stored(resource_key, dependent)

    def _empty_namespace(self, namespace: str) -> None:
        for resource_key, key in self.store.keys_in_namespace(namespace):
            dependent = self.store.get(resource_key, *key)
            if dependent is not None:
                self._delete_stored(resource_key, dependent)

    def _delete_stored(self, resource_key: str, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        if meta.get("finalizers"):
            if not meta.get("deletionTimestamp"):
                self.store.put(resource_key, self._marked_deleting(obj))
            return
        self.store.remove(resource_key, obj)
        if meta.get("uid"):
            self._collect_dependents(meta["uid"])
