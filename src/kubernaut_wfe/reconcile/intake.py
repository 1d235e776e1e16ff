"""What the watches deliver, turned into work: each event updates the cache and queues the WFE
it concerns, unless it brings nothing new; audit outcomes and the periodic re-check queue it too."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from kubernaut_wfe.reconcile.cache import ObjectCache, WfeKey
from kubernaut_wfe.reconcile.workqueue import WorkQueue


class DecisionMemory(Protocol):
    """What the intake asks of the reconciler (`reconcile.reconciler.Reconciler`)."""

    def is_quiet(self, uid: str, resource_version: str | None) -> bool:
        """Whether this state of the WFE was already decided to need nothing more."""

    def is_settled(self, uid: str) -> bool:
        """Whether the WFE needs no periodic re-check."""

    def forget(self, uid: str) -> None:
        """Drop what is remembered of a deleted WFE."""


def _object(event: Mapping[str, Any]) -> Mapping[str, Any]:
    obj = event.get("object")
    return obj if isinstance(obj, Mapping) else {}


class WatchIntake:
    """The watch handlers' side of the controller.

    Documents go to the cache without a copy (`owned`): kopf parses each event afresh and never
    touches the document after the handler.
    """

    def __init__(
        self, cache: ObjectCache, queue: WorkQueue[WfeKey], namespaces: Sequence[str] = ()
    ) -> None:
        """`namespaces`: the WFE namespaces watched (empty: all)."""
        self._cache = cache
        self._queue = queue
        self._namespaces = frozenset(namespaces)
        self._uids: dict[str, WfeKey] = {}
        self.reconciler: DecisionMemory | None = None
        """Set once the controller started; until then no state counts as decided."""

    def _in_scope(self, namespace: str) -> bool:
        return not self._namespaces or namespace in self._namespaces

    def on_wfe_event(self, event: Mapping[str, Any]) -> None:
        """Cache the delivered WFE and queue it, unless it brings nothing new: a state already
        cached (our own write echoed, or an older one) that a reconcile in flight is handling
        or that was already decided to need nothing. A deletion drops it."""
        obj = _object(event)
        meta = obj.get("metadata") or {}
        key: WfeKey = (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        uid = str(meta.get("uid") or "")
        if not self._in_scope(key[0]):
            return
        if event.get("type") == "DELETED":
            self._cache.drop_wfe(key, uid or None)
            self._uids.pop(uid, None)
            if self.reconciler is not None:
                self.reconciler.forget(uid)
            return
        stored = self._cache.store_wfe(obj, owned=True)
        self._uids[uid] = key
        if not stored.news and (self._queue.is_processing(key) or self._decided(uid, key)):
            return
        self._queue.add(key)

    def _decided(self, uid: str, key: WfeKey) -> bool:
        reconciler = self.reconciler
        return reconciler is not None and reconciler.is_quiet(
            uid, self._cache.resource_version(key)
        )

    def on_run_event(self, event: Mapping[str, Any]) -> None:
        """Cache the run and queue the WFE its annotation names (when the run changed)."""
        obj = _object(event)
        if event.get("type") == "DELETED":
            key = self._cache.drop_run(obj)
        else:
            key, news = self._cache.store_run(obj, owned=True)
            if not news:
                return  # already seen by whichever reconcile read, created or watched it
        if key is not None and self._cache.has_wfe(key):
            self._queue.add(key)

    def on_taskrun_event(self, event: Mapping[str, Any]) -> None:
        """Cache the TaskRun and queue the WFE of its run (when the TaskRun changed)."""
        deleted = event.get("type") == "DELETED"
        key, news = self._cache.store_taskrun(_object(event), deleted=deleted, owned=True)
        if news and key is not None and self._cache.has_wfe(key):
            self._queue.add(key)

    def on_pod_event(self, event: Mapping[str, Any]) -> None:
        """Cache the pod of one of our Jobs and queue the Job's WFE (when the pod changed)."""
        deleted = event.get("type") == "DELETED"
        key, news = self._cache.store_pod(_object(event), deleted=deleted, owned=True)
        if news and key is not None and self._cache.has_wfe(key):
            self._queue.add(key)

    def on_warning_event(self, event: Mapping[str, Any]) -> None:
        """Cache a Warning Event about one of our Jobs or its pods and queue the Job's WFE."""
        if event.get("type") == "DELETED":
            return  # Events expire; what one said stays true for the run it was about
        key, news = self._cache.store_run_event(_object(event), owned=True)
        if news and key is not None and self._cache.has_wfe(key):
            self._queue.add(key)

    def on_audit_outcome(self, uid: str) -> None:
        """Delivery resolved an event of this WFE: fold it into its status soon."""
        key = self._uids.get(uid)
        if key is not None:
            self._queue.add(key)

    def recheck_unsettled(self) -> None:
        """The periodic safety re-check of every WFE that is not settled yet."""
        reconciler = self.reconciler
        if reconciler is None:
            return
        for key in self._cache.wfe_keys():
            uid = self._cache.wfe_uid(key)
            if uid is not None and not reconciler.is_settled(uid):
                self._queue.add(key)
