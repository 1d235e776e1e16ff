"""The emulator's object store: indexed by resource, namespace, name, label and owner; with
one global resourceVersion counter, a bounded event history and selective watch fan-out."""

from __future__ import annotations

import asyncio
import bisect
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from kubernaut_wfe_tools.emulator.selectors import FieldSelector, LabelSelector

ObjectKey = tuple[str, str]
"""(namespace, name); the namespace is "" for cluster-scoped objects."""
SortedKey = tuple[str, ObjectKey]
"""An object's place in list order (see `etcd_order`) and its key."""


def etcd_order(key: ObjectKey) -> str:
    """Where an object comes in a list: the API server lists in the order of etcd keys,
    `<namespace>/<name>` compared as one string, so `a-b/x` comes before `a/x`."""
    return f"{key[0]}/{key[1]}"


ADDED = "ADDED"
MODIFIED = "MODIFIED"
DELETED = "DELETED"


@dataclass(frozen=True)
class StoredEvent:
    """A change to one object, as recorded in the history and sent to watchers."""

    resource_key: str
    type: str
    obj: dict[str, Any]
    old: dict[str, Any] | None
    resource_version: int


@dataclass(eq=False)
class Watcher:
    """One open watch: what it selects and the queue its stream drains (None closes it)."""

    resource_key: str
    namespace: str | None
    labels: LabelSelector
    fields: FieldSelector
    queue: asyncio.Queue[dict[str, Any] | None] = field(default_factory=asyncio.Queue)

    def selects(self, obj: dict[str, Any] | None) -> bool:
        """Whether an object (a state of it) is visible to this watch."""
        if obj is None:
            return False
        metadata = obj.get("metadata") or {}
        if self.namespace is not None and metadata.get("namespace", "") != self.namespace:
            return False
        return self.labels.matches(metadata.get("labels")) and self.fields.matches(obj)

    def offer(self, event: StoredEvent) -> None:
        """Queue the event as this watcher sees it: an object leaving the selection is DELETED
        for it and one entering it is ADDED, as with a real apiserver's filtered watch (which
        sends the leaving object as it was before, at the version of the change)."""
        now_selected = event.type != DELETED and self.selects(event.obj)
        was_selected = self.selects(event.old) if event.old is not None else False
        if event.type == DELETED:
            if self.selects(event.obj):
                self.queue.put_nowait({"type": DELETED, "object": event.obj})
        elif now_selected and was_selected:
            self.queue.put_nowait({"type": MODIFIED, "object": event.obj})
        elif now_selected:
            self.queue.put_nowait({"type": ADDED, "object": event.obj})
        elif was_selected and event.old is not None:
            metadata = {**event.old["metadata"], "resourceVersion": str(event.resource_version)}
            self.queue.put_nowait({"type": DELETED, "object": {**event.old, "metadata": metadata}})

    def close(self) -> None:
        """End the watch stream."""
        self.queue.put_nowait(None)


def object_key(obj: dict[str, Any]) -> ObjectKey:
    """(namespace, name) of an object."""
    metadata = obj.get("metadata") or {}
    return metadata.get("namespace", "") or "", metadata.get("name", "")


@dataclass(frozen=True)
class Page:
    """One page of a list: the items, whether more match, and how many (when known)."""

    items: list[dict[str, Any]]
    more: bool
    remaining: int | None


class HistoryExpiredError(Exception):
    """A watch asked for events older than the bounded history keeps."""

    def __init__(self, requested: int, oldest: int) -> None:
        super().__init__(f"too old resource version: {requested} ({oldest})")


class ObjectStore:
    """Objects per resource with namespace/label/owner indexes; every write gets the next
    global resourceVersion and is fanned out to the watchers it concerns. Stored dicts are
    never mutated after storing: writers always store a new dict."""

    def __init__(self, *, history_limit: int = 50_000) -> None:
        self._objects: dict[str, dict[ObjectKey, dict[str, Any]]] = {}
        self._by_namespace: dict[str, dict[str, set[str]]] = {}
        self._sorted: dict[str, list[SortedKey]] = {}
        self._by_label: dict[str, dict[str, dict[str, set[ObjectKey]]]] = {}
        self._by_owner: dict[str, set[tuple[str, ObjectKey]]] = {}
        self._watchers: dict[str, set[Watcher]] = {}
        self._history: deque[StoredEvent] = deque(maxlen=history_limit)
        self._expired_up_to = 0
        self._revision = 0

    @property
    def revision(self) -> int:
        """The latest resourceVersion handed out."""
        return self._revision

    def next_revision(self) -> int:
        """Reserve and return the next resourceVersion."""
        self._revision += 1
        return self._revision

    def get(self, resource_key: str, namespace: str, name: str) -> dict[str, Any] | None:
        """One object, or None."""
        return self._objects.get(resource_key, {}).get((namespace, name))

    def count(self, resource_key: str) -> int:
        """How many objects of a resource are stored."""
        return len(self._objects.get(resource_key, {}))

    def select(
        self,
        resource_key: str,
        namespace: str | None,
        labels: LabelSelector,
        fields: FieldSelector,
    ) -> list[dict[str, Any]]:
        """Every object matching the selectors, in list order (`etcd_order`)."""
        return self.page(resource_key, namespace, labels, fields).items

    def page(
        self,
        resource_key: str,
        namespace: str | None,
        labels: LabelSelector,
        fields: FieldSelector,
        *,
        after: ObjectKey | None = None,
        limit: int | None = None,
    ) -> Page:
        """Up to `limit` matching objects after the key `after`, in list order (`etcd_order`).
        Narrows by name or label index first; otherwise walks the sorted keys from `after`, so
        a page costs what it returns, not what is stored."""
        objects = self._objects.get(resource_key, {})
        keys, begin, end = self._key_range(resource_key, namespace, labels, fields, after)
        unfiltered = not labels.requirements and not fields.terms
        items: list[dict[str, Any]] = []
        index = begin
        while index < end:
            key = keys[index][1]
            index += 1
            obj = objects.get(key)
            if obj is None or (namespace is not None and key[0] != namespace):
                continue
            metadata = obj.get("metadata") or {}
            if not (labels.matches(metadata.get("labels")) and fields.matches(obj)):
                continue
            if limit is not None and len(items) == limit:
                remaining = end - index + 1 if unfiltered else None
                return Page(items, more=True, remaining=remaining)
            items.append(obj)
        return Page(items, more=False, remaining=0)

    def _key_range(
        self,
        resource_key: str,
        namespace: str | None,
        labels: LabelSelector,
        fields: FieldSelector,
        after: ObjectKey | None,
    ) -> tuple[list[SortedKey], int, int]:
        narrowed = self._narrowed(resource_key, namespace, labels, fields)
        keys = (
            sorted((etcd_order(key), key) for key in narrowed)
            if narrowed is not None
            else self._sorted.get(resource_key, [])
        )
        begin, end = 0, len(keys)
        if namespace is not None and narrowed is None:
            # every `<namespace>/...` key: from "<namespace>/" to "<namespace>0" ("0" follows "/")
            begin = bisect.bisect_left(keys, (f"{namespace}/", ("", "")))
            end = bisect.bisect_left(keys, (f"{namespace}0", ("", "")))
        if after is not None:
            begin = max(begin, bisect.bisect_right(keys, (etcd_order(after), after)))
        return keys, begin, end

    def _narrowed(
        self,
        resource_key: str,
        namespace: str | None,
        labels: LabelSelector,
        fields: FieldSelector,
    ) -> set[ObjectKey] | None:
        name = fields.name
        if name is not None and namespace is not None:
            return {(namespace, name)}
        best: set[ObjectKey] | None = None
        label_index = self._by_label.get(resource_key, {})
        for requirement in labels.requirements:
            values = requirement.indexable_values
            if values is None:
                continue
            by_value = label_index.get(requirement.key, {})
            keys: set[ObjectKey] = set()
            for value in values:
                keys |= by_value.get(value, set())
            if best is None or len(keys) < len(best):
                best = keys
        return best

    def dependents(self, owner_uid: str) -> list[tuple[str, ObjectKey]]:
        """(resource key, object key) of objects whose ownerReferences name this uid."""
        return sorted(self._by_owner.get(owner_uid, set()))

    def keys_in_namespace(self, namespace: str) -> list[tuple[str, ObjectKey]]:
        """(resource key, object key) of every object in a namespace."""
        return (
            [
                (resource_key, (namespace, name))
                for resource_key, by_namespace in self._by_namespace.items()
                for name in sorted(by_namespace.get(namespace, ()))
            ]
            if namespace
            else []
        )

    def namespace_is_empty(self, namespace: str) -> bool:
        """Whether no object of any resource is stored in the namespace."""
        return not any(by_namespace.get(namespace) for by_namespace in self._by_namespace.values())

    def put(self, resource_key: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Store a new state (ADDED or MODIFIED), stamping the next resourceVersion."""
        key = object_key(obj)
        old = self._objects.get(resource_key, {}).get(key)
        revision = self.next_revision()
        obj["metadata"]["resourceVersion"] = str(revision)
        self._unindex(resource_key, key, old)
        if old is None:
            bisect.insort(self._sorted.setdefault(resource_key, []), (etcd_order(key), key))
        self._objects.setdefault(resource_key, {})[key] = obj
        self._index(resource_key, key, obj)
        self._emit(StoredEvent(resource_key, MODIFIED if old else ADDED, obj, old, revision))
        return obj

    def remove(self, resource_key: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Delete an object; its last state carries the deletion's resourceVersion."""
        key = object_key(obj)
        old = self._objects.get(resource_key, {}).pop(key, None)
        self._unindex(resource_key, key, old)
        if old is not None:
            keys = self._sorted[resource_key]
            del keys[bisect.bisect_left(keys, (etcd_order(key), key))]
        revision = self.next_revision()
        final = {**obj, "metadata": {**obj["metadata"], "resourceVersion": str(revision)}}
        self._emit(StoredEvent(resource_key, DELETED, final, old, revision))
        return final

    def _index(self, resource_key: str, key: ObjectKey, obj: dict[str, Any]) -> None:
        metadata = obj.get("metadata") or {}
        self._by_namespace.setdefault(resource_key, {}).setdefault(key[0], set()).add(key[1])
        label_index = self._by_label.setdefault(resource_key, {})
        for label, value in (metadata.get("labels") or {}).items():
            label_index.setdefault(label, {}).setdefault(value, set()).add(key)
        for owner in metadata.get("ownerReferences") or []:
            if isinstance(owner, dict) and owner.get("uid"):
                self._by_owner.setdefault(owner["uid"], set()).add((resource_key, key))

    def _unindex(self, resource_key: str, key: ObjectKey, obj: dict[str, Any] | None) -> None:
        if obj is None:
            return
        metadata = obj.get("metadata") or {}
        self._by_namespace.get(resource_key, {}).get(key[0], set()).discard(key[1])
        label_index = self._by_label.get(resource_key, {})
        for label, value in (metadata.get("labels") or {}).items():
            label_index.get(label, {}).get(value, set()).discard(key)
        for owner in metadata.get("ownerReferences") or []:
            if isinstance(owner, dict) and owner.get("uid"):
                self._by_owner.get(owner["uid"], set()).discard((resource_key, key))

    def _emit(self, event: StoredEvent) -> None:
        if len(self._history) == self._history.maxlen:
            self._expired_up_to = self._history[0].resource_version
        self._history.append(event)
        for watcher in self._watchers.get(event.resource_key, ()):
            watcher.offer(event)

    def watch(self, watcher: Watcher, since: int | None) -> list[dict[str, Any]]:
        """Register a watcher. With `since` None: the current objects as ADDED events; else the
        recorded events after that resourceVersion (410-worthy if the history lost some)."""
        if since is None:
            initial = [
                {"type": ADDED, "object": obj}
                for obj in self.select(
                    watcher.resource_key, watcher.namespace, watcher.labels, watcher.fields
                )
            ]
        else:
            if since < self._expired_up_to:
                raise HistoryExpiredError(since, self._expired_up_to + 1)
            replay: list[dict[str, Any]] = []
            for event in self._history:
                if event.resource_version > since and event.resource_key == watcher.resource_key:
                    watcher.offer(event)
            # drain what offer() queued so the caller sends it first, before live events
            while not watcher.queue.empty():
                item = watcher.queue.get_nowait()
                if item is not None:
                    replay.append(item)
            initial = replay
        self._watchers.setdefault(watcher.resource_key, set()).add(watcher)
        return initial

    def unwatch(self, watcher: Watcher) -> None:
        """Forget a watcher (its stream ended)."""
        self._watchers.get(watcher.resource_key, set()).discard(watcher)

    def watchers(self) -> list[Watcher]:
        """Every open watcher."""
        return [w for group in self._watchers.values() for w in group]
