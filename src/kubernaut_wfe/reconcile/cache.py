"""What the watches delivered, kept in memory: WFEs by key (those that may wait for a lock also
by object), runs (PipelineRuns and Jobs) by kind and name, a PipelineRun's TaskRuns and a Job's
pods and Warning Events by run name. Nothing here is ever written back; a
stale entry only costs an extra read. Cached documents are replaced, never changed in place, so
read-only views need no copy. Not kopf's `@kopf.index`: its indexes are handed only to kopf's own
handlers, and our reconciles run in the work queue."""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from kubernaut_wfe.constants import (
    JOB_NAME_LABEL,
    POD_KIND,
    Annotation,
    ConditionStatus,
    ConditionType,
    Label,
    Phase,
    RunKind,
    TektonLabel,
)
from kubernaut_wfe.core.actions import kind_of_run
from kubernaut_wfe.core.models import WorkflowExecution
from kubernaut_wfe.core.targets import object_key
from kubernaut_wfe.core.validation import parse_wfe

PARSED_CAPACITY = 256
"""Typed WFEs kept (least recently used dropped first): enough for the reconciles in flight
and the watch echoes of their writes; a model per settled WFE would cost ~15 KiB each."""
RUN_EVENTS_KEPT = 32
"""Warning Events kept per Job (the newest): a looping pod posts the same few again and again."""
POD_NAME_SUFFIX = 6
"""`-xxxxx`: what the Job controller's `generateName` adds to the Job's name."""
WfeKey = tuple[str, str]
"""(namespace, name) of a WorkflowExecution."""
RunKey = tuple[RunKind, str]
"""(kind, name) of a run: a PipelineRun and a Job share the lock's name."""
Document = dict[str, Any]


class Stored(NamedTuple):
    """What storing a delivered object did."""

    key: WfeKey | None
    """The WFE it belongs to (None for a run or TaskRun whose WFE is unknown)."""
    news: bool
    """Whether the cache changed: False for a state already cached (e.g. the watch echoing an
    answer we stored ourselves) or an older one."""


def _metadata(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _resource_version(obj: Mapping[str, Any]) -> int | None:
    value = str(_metadata(obj).get("resourceVersion") or "")
    return int(value) if value.isdigit() else None


def newer_or_same(candidate: Mapping[str, Any], current: Mapping[str, Any] | None) -> bool:
    """Whether `candidate` is not older than `current` (same uid, by resourceVersion).

    Resource versions are opaque to clients in principle, but every real API server and the
    emulator use increasing integers; when they are not integers the newest delivery wins.
    """
    if current is None:
        return True
    if _metadata(candidate).get("uid") != _metadata(current).get("uid"):
        return True
    new, old = _resource_version(candidate), _resource_version(current)
    return new is None or old is None or new >= old


def _object_of(obj: Mapping[str, Any]) -> str:
    """The index key of a WFE's target: `core.targets.object_key`, the same for every spelling
    of the kind (and independent of API discovery, which may learn a kind later)."""
    spec = obj.get("spec")
    return object_key(str(spec.get("targetResource") or "")) if isinstance(spec, Mapping) else ""


def _may_be_waiting(obj: Mapping[str, Any]) -> bool:
    """Whether the WFE may wait for its target's lock: not Running or terminal, and a
    `ResourceLocked=True` condition. A superset of the core's check (`core.pending.waiters_ahead`),
    made on the raw document so that the index costs no parse."""
    status = obj.get("status")
    if not isinstance(status, Mapping):
        return False
    if status.get("phase") in (Phase.RUNNING, Phase.COMPLETED, Phase.FAILED):
        return False
    conditions = status.get("conditions")
    return isinstance(conditions, list) and any(
        isinstance(item, Mapping)
        and item.get("type") == ConditionType.RESOURCE_LOCKED
        and item.get("status") == ConditionStatus.TRUE
        for item in conditions
    )


def _same_state(one: Mapping[str, Any], other: Mapping[str, Any]) -> bool:
    """Same uid and same resourceVersion: the same state of the same object."""
    a, b = _metadata(one), _metadata(other)
    version = a.get("resourceVersion")
    return bool(version) and version == b.get("resourceVersion") and a.get("uid") == b.get("uid")


def is_news(candidate: Mapping[str, Any], current: Mapping[str, Any] | None) -> bool:
    """Whether `candidate` should replace the cached `current`: nothing cached yet, another
    incarnation, or a newer state (not the same state delivered again, not an older one)."""
    return current is None or (
        not _same_state(candidate, current) and newer_or_same(candidate, current)
    )


def _run_key(run: Mapping[str, Any]) -> RunKey:
    return kind_of_run(run), str(_metadata(run).get("name") or "")


def wfe_key_of_run(run: Mapping[str, Any]) -> WfeKey | None:
    """The WFE named by a run's `kubernaut.ai/workflow-execution` annotation."""
    annotations = _metadata(run).get("annotations") or {}
    namespace, slash, name = str(annotations.get(Annotation.WORKFLOW_EXECUTION, "")).partition("/")
    return (namespace, name) if slash and namespace and name else None


class ObjectCache:
    """The controller's view of the watched objects."""

    def __init__(self) -> None:
        self._wfes: dict[WfeKey, Document] = {}
        self._parsed: OrderedDict[WfeKey, WorkflowExecution] = OrderedDict()
        self._waiting: dict[str, set[WfeKey]] = {}
        self._runs: dict[RunKey, Document] = {}
        self._taskruns: dict[str, dict[str, Document]] = {}
        self._pods: dict[str, dict[str, Document]] = {}
        self._job_of_pod: dict[str, str] = {}
        self._run_events: dict[str, OrderedDict[str, Document]] = {}
        self.runs_complete = False
        """Set once every run of ours has been listed into the cache: from then on the watch
        keeps it complete, so a run it lacks does not exist (or is being deleted)."""

    # --- WorkflowExecutions ---------------------------------------------------------------

    def wfe(self, key: WfeKey) -> Document | None:
        """A deep copy of the cached WFE (callers may mutate it)."""
        found = self._wfes.get(key)
        return copy.deepcopy(found) if found is not None else None

    def has_wfe(self, key: WfeKey) -> bool:
        """Whether a WFE of that key is cached (no copy made)."""
        return key in self._wfes

    def wfe_uid(self, key: WfeKey) -> str | None:
        """The cached WFE's uid (no copy made)."""
        found = self._wfes.get(key)
        return str(_metadata(found).get("uid") or "") if found is not None else None

    def wfe_view(self, key: WfeKey) -> tuple[Document, WorkflowExecution] | None:
        """The cached WFE itself (read only: never mutate it) and its typed form, parsed once
        per cached state."""
        found = self._wfes.get(key)
        if found is None:
            return None
        typed = self._parsed.get(key)
        if typed is None:
            typed = self._parsed[key] = parse_wfe(found)
            if len(self._parsed) > PARSED_CAPACITY:
                self._parsed.popitem(last=False)
        else:
            self._parsed.move_to_end(key)
        return found, typed

    def store_wfe(self, obj: Mapping[str, Any], *, owned: bool = False) -> Stored:
        """Keep `obj` unless the same or a newer state of it is already cached. `owned`: the
        caller hands the document over and will not change it, so no copy is kept."""
        meta = _metadata(obj)
        key = (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        current = self._wfes.get(key)
        if not is_news(obj, current):
            return Stored(key, news=False)  # e.g. the watch echoing our own write
        if current is not None:
            self._unindex(key, current)
        stored = dict(obj) if owned else copy.deepcopy(dict(obj))
        self._wfes[key] = stored
        self._parsed.pop(key, None)
        if _may_be_waiting(stored):
            self._waiting.setdefault(_object_of(stored), set()).add(key)
        return Stored(key, news=True)

    def resource_version(self, key: WfeKey) -> str | None:
        """The cached WFE's resourceVersion (None when not cached)."""
        found = self._wfes.get(key)
        return str(_metadata(found).get("resourceVersion") or "") if found is not None else None

    def drop_wfe(self, key: WfeKey, uid: str | None = None) -> None:
        """Forget a deleted WFE (only that incarnation when `uid` is given)."""
        current = self._wfes.get(key)
        if current is not None and (uid is None or _metadata(current).get("uid") == uid):
            del self._wfes[key]
            self._parsed.pop(key, None)
            self._unindex(key, current)

    def _unindex(self, key: WfeKey, obj: Mapping[str, Any]) -> None:
        found = _object_of(obj)
        keys = self._waiting.get(found)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._waiting[found]

    def waiting_on_target(self, target: str) -> list[tuple[Document, WorkflowExecution]]:
        """The cached WFEs whose target may name the object `target` names and that may be
        waiting for its lock (not Running, not terminal, `ResourceLocked=True`): read only,
        typed; callers check the rest (the canonical target among it)."""
        return self._views(self._waiting.get(object_key(target), ()))

    def _views(self, keys: Iterable[WfeKey]) -> list[tuple[Document, WorkflowExecution]]:
        views = (self.wfe_view(key) for key in keys)
        return [view for view in views if view is not None]

    def wfe_keys(self) -> list[WfeKey]:
        """Every cached WFE key."""
        return list(self._wfes)

    # --- PipelineRuns and TaskRuns --------------------------------------------------------

    def run(self, name: str, kind: RunKind = RunKind.PIPELINE_RUN) -> Document | None:
        """The cached run of that kind and name (read only: never mutate it), if known."""
        return self._runs.get((kind, name))

    def store_run(self, run: Mapping[str, Any], *, owned: bool = False) -> Stored:
        """Keep `run` unless the same or a newer state is cached (`owned` as for WFEs)."""
        key = _run_key(run)
        current = self._runs.get(key)
        news = bool(key[1]) and is_news(run, current)
        if news:
            if current is not None and _metadata(current).get("uid") != _metadata(run).get("uid"):
                self._forget_children(key)
            self._runs[key] = dict(run) if owned else copy.deepcopy(dict(run))
        return Stored(wfe_key_of_run(run), news)

    def drop_run(self, run: Mapping[str, Any]) -> WfeKey | None:
        """Forget a deleted run (only that incarnation); returns the WFE it belonged to."""
        key = _run_key(run)
        current = self._runs.get(key)
        if current is not None and _metadata(current).get("uid") == _metadata(run).get("uid"):
            del self._runs[key]
            self._forget_children(key)
        return wfe_key_of_run(run)

    def _forget_children(self, key: RunKey) -> None:
        kind, name = key
        if kind == RunKind.PIPELINE_RUN:
            self._taskruns.pop(name, None)
            return
        for pod in self._pods.pop(name, {}):
            self._job_of_pod.pop(pod, None)
        self._run_events.pop(name, None)

    def taskruns(self, run_name: str) -> list[Document]:
        """The cached child TaskRuns of a run (read only: never mutate them)."""
        return list(self._taskruns.get(run_name, {}).values())

    def store_taskrun(
        self, taskrun: Mapping[str, Any], *, deleted: bool = False, owned: bool = False
    ) -> Stored:
        """Keep (or forget) a TaskRun (`owned` as for WFEs); the key is the WFE of its run."""
        meta = _metadata(taskrun)
        labels = meta.get("labels") or {}
        run_name = str(labels.get(TektonLabel.PIPELINE_RUN) or "")
        name = str(meta.get("name") or "")
        news = False
        if run_name and name:
            children = self._taskruns.setdefault(run_name, {})
            if deleted:
                news = children.pop(name, None) is not None
            elif is_news(taskrun, children.get(name)):
                children[name] = dict(taskrun) if owned else copy.deepcopy(dict(taskrun))
                news = True
        return Stored(self._wfe_of_taskrun(run_name, labels), news)

    def _wfe_of_taskrun(self, run_name: str, labels: Mapping[str, Any]) -> WfeKey | None:
        run = self._runs.get((RunKind.PIPELINE_RUN, run_name))
        if run is not None and (key := wfe_key_of_run(run)) is not None:
            return key
        namespace = labels.get(Label.SOURCE_NAMESPACE)
        wfe_name = labels.get(Label.WORKFLOW_EXECUTION)
        if namespace and wfe_name and (namespace, wfe_name) in self._wfes:
            return str(namespace), str(wfe_name)
        return None

    # --- A Job's pods and Warning Events ---------------------------------------------------

    def pods(self, job_name: str) -> list[Document]:
        """The cached pods of a Job (read only)."""
        return list(self._pods.get(job_name, {}).values())

    def run_events(self, job_name: str) -> list[Document]:
        """The cached Warning Events about a Job and its pods, oldest first (read only)."""
        return list(self._run_events.get(job_name, {}).values())

    def store_pod(
        self, pod: Mapping[str, Any], *, deleted: bool = False, owned: bool = False
    ) -> Stored:
        """Keep (or forget) a pod of one of our Jobs; the key is the WFE of its Job."""
        meta = _metadata(pod)
        labels = meta.get("labels")
        job = str(labels.get(JOB_NAME_LABEL) or "") if isinstance(labels, Mapping) else ""
        name = str(meta.get("name") or "")
        news = False
        if job and name:
            pods = self._pods.setdefault(job, {})
            if deleted:
                news = pods.pop(name, None) is not None
                self._job_of_pod.pop(name, None)
            elif is_news(pod, pods.get(name)):
                pods[name] = dict(pod) if owned else copy.deepcopy(dict(pod))
                self._job_of_pod[name] = job
                news = True
        return Stored(self._wfe_of_job(job), news)

    def store_run_event(self, event: Mapping[str, Any], *, owned: bool = False) -> Stored:
        """Keep a Warning Event about a Job or one of its pods; the key is the WFE of the Job."""
        involved = event.get("involvedObject")
        if not isinstance(involved, Mapping):
            return Stored(None, news=False)
        name = str(involved.get("name") or "")
        if involved.get("kind") == POD_KIND:
            job = self._job_of_pod.get(name) or name[:-POD_NAME_SUFFIX]
        elif involved.get("kind") == RunKind.JOB:
            job = name
        else:
            return Stored(None, news=False)
        key = self._wfe_of_job(job)
        event_name = str(_metadata(event).get("name") or "")
        if key is None or not event_name:
            return Stored(key, news=False)
        kept = self._run_events.setdefault(job, OrderedDict())
        if not is_news(event, kept.get(event_name)):
            return Stored(key, news=False)
        kept.pop(event_name, None)
        kept[event_name] = dict(event) if owned else copy.deepcopy(dict(event))
        if len(kept) > RUN_EVENTS_KEPT:
            kept.popitem(last=False)
        return Stored(key, news=True)

    def _wfe_of_job(self, job_name: str) -> WfeKey | None:
        job = self._runs.get((RunKind.JOB, job_name))
        return wfe_key_of_run(job) if job is not None else None
