"""`ApiEmulator`: the Kubernetes API emulator, its Python API and its HTTP server."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable
from pathlib import Path
from typing import Any

import kmock
import yaml

from kubernaut_wfe_tools.emulator.admission import WriteOptions, utc_now
from kubernaut_wfe_tools.emulator.control import ControlApi
from kubernaut_wfe_tools.emulator.errors import ApiError
from kubernaut_wfe_tools.emulator.faults import FaultInjector, FaultRule, RequestLog
from kubernaut_wfe_tools.emulator.handler import EmulatorHandler
from kubernaut_wfe_tools.emulator.objects import ObjectLifecycle
from kubernaut_wfe_tools.emulator.resources import (
    BUILTIN_RESOURCES,
    CRD_RESOURCE,
    ResourceRegistry,
    ResourceType,
    resources_from_crd,
)
from kubernaut_wfe_tools.emulator.store import ObjectStore, Watcher
from kubernaut_wfe_tools.emulator.watching import drop_matching_watches

INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
TEKTON_CRDS_DIR = Path(__file__).parent / "crds"

Companion = Callable[["ApiEmulator"], Coroutine[Any, Any, None]]
"""An async task started with the server (e.g. a Tekton simulator) and cancelled at its end."""


def default_crd_paths() -> list[Path]:
    """Our WorkflowExecution CRD (the packaged copy) and the emulator's Tekton CRDs."""
    from kubernaut_wfe_tools.crdschema import packaged_crd_path

    return [Path(packaged_crd_path()), *sorted(TEKTON_CRDS_DIR.glob("*.yaml"))]


_YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's loader where PyYAML has it: ten times faster on the CRDs every emulator loads."""


def load_crds(paths: Iterable[Path | str]) -> list[dict[str, Any]]:
    """Every CustomResourceDefinition document in the given YAML files."""
    crds: list[dict[str, Any]] = []
    for path in paths:
        text = Path(path).read_text(encoding="utf-8")
        for document in yaml.load_all(text, Loader=_YAML_LOADER):
            if isinstance(document, dict) and document.get("kind") == "CustomResourceDefinition":
                crds.append(document)
    return crds


class ApiEmulator:
    """An in-memory Kubernetes API server for tests, the sandbox and benchmarks."""

    def __init__(
        self,
        crd_paths: Iterable[Path | str] | None = None,
        *,
        history_limit: int = 50_000,
        request_log_limit: int = 200_000,
        bookmark_interval: float = 60.0,
        clock: Callable[[], datetime.datetime] = utc_now,
    ) -> None:
        self.registry = ResourceRegistry()
        self.store = ObjectStore(history_limit=history_limit)
        self.lifecycle = ObjectLifecycle(self.store, clock)
        self.request_log = RequestLog(request_log_limit)
        self.faults = FaultInjector()
        self.faults.on_drop_watches.append(self._drop_watches)
        self.control = ControlApi(self)
        self.watches: dict[Watcher, tuple[str, ...]] = {}
        self.companions: list[Companion] = []
        self.bookmark_interval = bookmark_interval
        """Seconds between BOOKMARK events on quiet watches that allow them."""
        self._server: kmock.Server | None = None
        for res in (*BUILTIN_RESOURCES, CRD_RESOURCE):
            self.registry.add(res)
        paths = default_crd_paths() if crd_paths is None else list(crd_paths)
        for crd in load_crds(paths):
            self.add_crd(crd)
        namespaces = self.resource("namespaces")
        for name in INITIAL_NAMESPACES:
            self.lifecycle.create(namespaces, None, {"metadata": {"name": name}}, WriteOptions())

    def add_crd(self, crd: dict[str, Any]) -> list[ResourceType]:
        """Serve the resources of a CRD and list the CRD itself under apiextensions."""
        resources = resources_from_crd(crd)
        for res in resources:
            self.registry.add(res)
        stored = {k: v for k, v in crd.items() if k != "status"}
        metadata = dict(stored.get("metadata") or {})
        existing = self.store.get(CRD_RESOURCE.key, "", metadata.get("name", ""))
        if existing is None:
            self.lifecycle.create(
                CRD_RESOURCE, None, {**stored, "metadata": metadata}, WriteOptions()
            )
        return resources

    # -- Python API --------------------------------------------------------------------------

    def resource(self, name: str) -> ResourceType:
        """A served resource by plural (core group first), `plural.group` or `apiVersion/plural`."""
        matches = self.registry.match_name(name)
        if len(matches) > 1:
            # like kubectl, a bare plural prefers the core group ("events" is v1 events)
            matches = [r for r in matches if not r.group] or matches
        if len(matches) != 1:
            raise KeyError(f"{name!r} names {len(matches)} served resources")
        return matches[0]

    def resource_for(self, api_version: str, kind: str) -> ResourceType:
        """The served resource of an apiVersion and kind."""
        for res in self.registry.all():
            if res.api_version == api_version and res.kind == kind:
                return res
        raise KeyError(f"no served resource for {api_version} {kind}")

    def seed(
        self, objects: Iterable[dict[str, Any]], *, validate: bool = True
    ) -> list[dict[str, Any]]:
        """Create objects directly (no HTTP), e.g. for benchmarks; each needs apiVersion+kind.
        With `validate` they go through the full create path (schema, namespace checks)."""
        created = []
        for obj in objects:
            res = self.resource_for(obj["apiVersion"], obj["kind"])
            namespace = (obj.get("metadata") or {}).get("namespace")
            if validate:
                created.append(self.lifecycle.create(res, namespace, obj, WriteOptions()))
            else:
                created.append(self._seed_raw(res, obj))
        return created

    def _seed_raw(self, res: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        import copy
        import uuid

        stored = copy.deepcopy(obj)
        meta = stored.setdefault("metadata", {})
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", self.lifecycle.clock().strftime("%Y-%m-%dT%H:%M:%SZ"))
        if res.custom:
            meta.setdefault("generation", 1)
        return self.store.put(res.key, stored)

    def read(self, resource: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        """One stored object (by resource name as for `resource()`), or None."""
        res = self.resource(resource)
        try:
            return self.lifecycle.get(res, namespace or "", name)
        except ApiError:
            return None

    def objects(self, resource: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """All stored objects of a resource (optionally one namespace), in name order."""
        from kubernaut_wfe_tools.emulator.selectors import FieldSelector, LabelSelector

        res = self.resource(resource)
        return self.store.select(res.key, namespace, LabelSelector(), FieldSelector())

    # -- serving -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """`http://HOST:PORT` while serving."""
        if self._server is None:
            raise RuntimeError("the emulator is not serving")
        return f"http://{self._server.host}:{self._server.port}"

    @contextlib.asynccontextmanager
    async def serving(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[ApiEmulator]:
        """Serve HTTP on host:port (0 = a free port) with the companions running."""
        handler = EmulatorHandler(emulator=self)
        async with handler, kmock.Server(handler, host=host, port=port or None) as server:
            self._server = server
            tasks = [asyncio.create_task(companion(self)) for companion in self.companions]
            try:
                yield self
            finally:
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
                self.faults.release()
                for watcher in list(self.watches):
                    watcher.close()
                await asyncio.sleep(0)
                self._server = None

    def write_kubeconfig(self, path: Path | str) -> Path:
        """A kubeconfig with cluster/user/context `emulator` pointing at this server, no auth."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "emulator", "cluster": {"server": self.url}}],
            "users": [{"name": "emulator", "user": {}}],
            "contexts": [
                {
                    "name": "emulator",
                    "context": {"cluster": "emulator", "user": "emulator", "namespace": "default"},
                }
            ],
            "current-context": "emulator",
        }
        target = Path(path)
        target.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        return target

    def _drop_watches(self, rule: FaultRule) -> None:
        drop_matching_watches(self, rule)
