"""Deletion as the apiserver and its controllers do it: preconditions, finalizers
(deletionTimestamp plus one generation bump), the graceful deletion of a pod a node runs (it
stays until its kubelet deletes it with grace period 0), removal, owner garbage collection and
namespace termination (the last two at once instead of in the background).

A deleted namespace is `Terminating` (deletionTimestamp set, phase Terminating) until nothing is
left in it; then its `kubernetes` finalizer goes and so does it. Creates in it are refused (403)
meanwhile. The API server's namespace controller does the same after a few seconds."""

from __future__ import annotations

import copy
import datetime
from collections.abc import Callable
from typing import Any

from kubernaut_wfe_tools.emulator import errors
from kubernaut_wfe_tools.emulator.admission import NAMESPACES_KEY, rfc3339
from kubernaut_wfe_tools.emulator.builtins import PODS_KEY, deletion_pending, graceful_deletion
from kubernaut_wfe_tools.emulator.resources import ResourceType
from kubernaut_wfe_tools.emulator.store import ObjectStore

PROPAGATION_POLICIES = ("Foreground", "Background", "Orphan")


class Reaper:
    """Deletes objects from an `ObjectStore`."""

    def __init__(self, store: ObjectStore, clock: Callable[[], datetime.datetime]) -> None:
        self.store = store
        self.clock = clock

    def delete(
        self, res: ResourceType, old: dict[str, Any], options: dict[str, Any], *, dry_run: bool
    ) -> tuple[dict[str, Any], bool]:
        """DELETE of a stored object with the request's DeleteOptions (see `delete_options`):
        the object as the answer shows it, and whether it is gone (the answer is then a
        `Status`; a namespace is never gone at once, its answer is the Terminating namespace)."""
        self._check_preconditions(res, old, options.get("preconditions") or {})
        if dry_run:
            return old, False
        if res.key == NAMESPACES_KEY:
            return self._terminate_namespace(old), False
        if res.key == PODS_KEY:
            return self._delete_pod(old, options)
        meta = old["metadata"]
        if meta.get("finalizers"):
            if meta.get("deletionTimestamp"):
                return old, False
            return self.store.put(res.key, self._marked_deleting(old)), False
        return self.finalize(res, old), True

    def _check_preconditions(
        self, res: ResourceType, old: dict[str, Any], preconditions: dict[str, Any]
    ) -> None:
        meta = old["metadata"]
        name = meta["name"]
        checks = (
            ("uid", "UID", "The object might have been deleted and then recreated"),
            ("resourceVersion", "ResourceVersion", "The object might have been modified"),
        )
        for key, label, hint in checks:
            expected = preconditions.get(key)
            if not expected or expected == meta.get(key):
                continue
            if res.key == NAMESPACES_KEY:  # the namespace registry words it the older way
                raise errors.conflict(
                    res.group,
                    res.plural,
                    name,
                    f"Precondition failed: {label} in precondition: {expected}, "
                    f"{label} in object meta: {meta.get(key)}",
                )
            # as the API server's generic registry: named by kind, not by resource
            raise errors.conflict(
                res.group,
                res.kind,
                name,
                f"the {label} in the precondition ({expected}) does not match the {label} in "
                f"record ({meta.get(key)}). {hint}",
            )

    def _marked_deleting(self, obj: dict[str, Any]) -> dict[str, Any]:
        deleting = copy.deepcopy(obj)
        meta = deleting["metadata"]
        meta["deletionTimestamp"] = rfc3339(self.clock())
        meta["deletionGracePeriodSeconds"] = 0
        if "generation" in meta:
            meta["generation"] = int(meta["generation"]) + 1
        return deleting

    def _delete_pod(
        self, pod: dict[str, Any], options: dict[str, Any]
    ) -> tuple[dict[str, Any], bool]:
        """A pod is marked first (its grace period, or 0 when no node runs it or it ended), and
        removed once no grace period and no finalizer is left."""
        marked = graceful_deletion(pod, options, self.clock())
        if marked is None:
            return pod, False
        if deletion_pending(marked) or marked["metadata"].get("finalizers"):
            return self.store.put(PODS_KEY, marked), False
        return self._remove(PODS_KEY, marked), True

    def finalize(self, res: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        """Remove the object (no finalizers left) and clean up after it. A terminating
        namespace stays until it is empty."""
        if res.key == NAMESPACES_KEY and (obj.get("spec") or {}).get("finalizers"):
            kept = self.store.put(res.key, obj)
            self._finish_namespace(obj["metadata"]["name"])
            return self.store.get(res.key, "", obj["metadata"]["name"]) or kept
        return self._remove(res.key, obj)

    def _remove(self, resource_key: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Remove a stored object without finalizers, its dependents (owner-reference garbage
        collection) and, once empty, its terminating namespace."""
        final = self.store.remove(resource_key, obj)
        if uid := obj["metadata"].get("uid"):
            self._collect_dependents(uid)
        self._finish_namespace(obj["metadata"].get("namespace", ""))
        return final

    def _collect_dependents(self, owner_uid: str) -> None:
        for resource_key, (namespace, name) in self.store.dependents(owner_uid):
            dependent = self.store.get(resource_key, namespace, name)
            if dependent is not None:
                self._delete_stored(resource_key, dependent)

    def _terminate_namespace(self, namespace: dict[str, Any]) -> dict[str, Any]:
        meta = namespace["metadata"]
        if meta.get("deletionTimestamp"):
            return namespace
        terminating = copy.deepcopy(namespace)
        terminating["metadata"]["deletionTimestamp"] = rfc3339(self.clock())
        terminating.setdefault("status", {})["phase"] = "Terminating"
        answer = self.store.put(NAMESPACES_KEY, terminating)
        for resource_key, key in self.store.keys_in_namespace(meta["name"]):
            content = self.store.get(resource_key, *key)
            if content is not None:
                self._delete_stored(resource_key, content)
        self._finish_namespace(meta["name"])
        return answer

    def _finish_namespace(self, name: str) -> None:
        """Remove a terminating namespace once nothing is left in it."""
        namespace = self.store.get(NAMESPACES_KEY, "", name) if name else None
        if namespace is None or not namespace["metadata"].get("deletionTimestamp"):
            return
        if not self.store.namespace_is_empty(name):
            return
        finished = copy.deepcopy(namespace)
        finished.setdefault("spec", {})["finalizers"] = []
        if finished["metadata"].get("finalizers"):
            self.store.put(NAMESPACES_KEY, finished)
        else:
            self.store.remove(NAMESPACES_KEY, finished)

    def _delete_stored(self, resource_key: str, obj: dict[str, Any]) -> None:
        if resource_key == PODS_KEY:
            self._delete_pod(obj, {})
            return
        meta = obj["metadata"]
        if meta.get("finalizers"):
            if not meta.get("deletionTimestamp"):
                self.store.put(resource_key, self._marked_deleting(obj))
            return
        self._remove(resource_key, obj)


def delete_options(body: Any) -> dict[str, Any]:
    """The request's DeleteOptions, checked as the API server checks them before it looks the
    object up (a bad propagationPolicy is 422 Invalid even for a missing object)."""
    options = body if isinstance(body, dict) else {}
    policy = options.get("propagationPolicy")
    if policy is not None and policy not in PROPAGATION_POLICIES:
        supported = ", ".join(f'"{p}"' for p in (*PROPAGATION_POLICIES, "nil"))
        message = f'Unsupported value: "{policy}": supported values: {supported}'
        raise errors.invalid(
            "DeleteOptions",
            "meta.k8s.io",
            "",
            [
                {
                    "reason": "FieldValueNotSupported",
                    "message": message,
                    "field": "propagationPolicy",
                }
            ],
            [f"propagationPolicy: {message}"],
        )
    return options
