"""What the watches delivered, kept in memory: WFEs by key, PipelineRuns and their TaskRuns by
run name. Nothing here is ever written back; a stale entry only costs an extra read."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

from kubernaut_wfe.constants import Annotation, Label, TektonLabel

WfeKey = tuple[str, str]
"""(namespace, name) of a WorkflowExecution."""
Document = dict[str, Any]


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


def wfe_key_of_run(run: Mapping[str, Any]) -> WfeKey | None:
    """The WFE named by a run's `kubernaut.ai/workflow-execution` annotation."""
    annotations = _metadata(run).get("annotations") or {}
    namespace, slash, name = str(annotations.get(Annotation.WORKFLOW_EXECUTION, "")).partition("/")
    return (namespace, name) if slash and namespace and name else None


class ObjectCache:
    """The controller's view of the watched objects."""

    def __init__(self) -> None:
        self._wfes: dict[WfeKey, Document] = {}
        self._runs: dict[str, Document] = {}
        self._taskruns: dict[str, dict[str, Document]] = {}

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

    def store_wfe(self, obj: Mapping[str, Any]) -> WfeKey:
        """Keep `obj` unless a newer state of it is already cached."""
        meta = _metadata(obj)
        key = (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        if newer_or_same(obj, self._wfes.get(key)):
            self._wfes[key] = copy.deepcopy(dict(obj))
        return key

    def drop_wfe(self, key: WfeKey, uid: str | None = None) -> None:
        """Forget a deleted WFE (only that incarnation when `uid` is given)."""
        current = self._wfes.get(key)
        if current is not None and (uid is None or _metadata(current).get("uid") == uid):
            del self._wfes[key]

    def wfe_keys(self) -> list[WfeKey]:
        """Every cached WFE key."""
        return list(self._wfes)

    def wfes(self) -> Iterator[Document]:
        """Every cached WFE (not copies: read only)."""
        return iter(list(self._wfes.values()))

    # --- PipelineRuns and TaskRuns --------------------------------------------------------

    def run(self, name: str) -> Document | None:
        """The cached PipelineRun of that name (a copy), if the watch delivered it."""
        found = self._runs.get(name)
        return copy.deepcopy(found) if found is not None else None

    def store_run(self, run: Mapping[str, Any]) -> WfeKey | None:
        """Keep `run` (unless older than the cached one); returns the WFE it belongs to."""
        name = str(_metadata(run).get("name") or "")
        if name and newer_or_same(run, self._runs.get(name)):
            current = self._runs.get(name)
            if current is not None and _metadata(current).get("uid") != _metadata(run).get("uid"):
                self._taskruns.pop(name, None)
            self._runs[name] = copy.deepcopy(dict(run))
        return wfe_key_of_run(run)

    def drop_run(self, run: Mapping[str, Any]) -> WfeKey | None:
        """Forget a deleted run (only that incarnation); returns the WFE it belonged to."""
        name = str(_metadata(run).get("name") or "")
        current = self._runs.get(name)
        if current is not None and _metadata(current).get("uid") == _metadata(run).get("uid"):
            del self._runs[name]
            self._taskruns.pop(name, None)
        return wfe_key_of_run(run)

    def taskruns(self, run_name: str) -> list[Document]:
        """The cached child TaskRuns of a run (copies)."""
        return [copy.deepcopy(item) for item in self._taskruns.get(run_name, {}).values()]

    def store_taskrun(self, taskrun: Mapping[str, Any], *, deleted: bool = False) -> WfeKey | None:
        """Keep (or forget) a TaskRun; returns the WFE whose run it belongs to."""
        meta = _metadata(taskrun)
        labels = meta.get("labels") or {}
        run_name = str(labels.get(TektonLabel.PIPELINE_RUN) or "")
        name = str(meta.get("name") or "")
        if run_name and name:
            children = self._taskruns.setdefault(run_name, {})
            if deleted:
                children.pop(name, None)
            elif newer_or_same(taskrun, children.get(name)):
                children[name] = copy.deepcopy(dict(taskrun))
        run = self._runs.get(run_name)
        if run is not None and (key := wfe_key_of_run(run)) is not None:
            return key
        namespace = labels.get(Label.SOURCE_NAMESPACE)
        wfe_name = labels.get(Label.WORKFLOW_EXECUTION)
        if namespace and wfe_name and (namespace, wfe_name) in self._wfes:
            return str(namespace), str(wfe_name)
        return None
