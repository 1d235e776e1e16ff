"""`Controller`: the kopf registry and settings, the caches the watches fill, the work queue,
the reconciler, audit delivery and the HTTP endpoints, started and stopped together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

import kopf
import structlog

from kubernaut_wfe.adapters.audit_config import AuditDeliveryConfig
from kubernaut_wfe.adapters.audit_delivery import AuditDelivery
from kubernaut_wfe.adapters.kube import CUSTOM_RESOURCE_DEFINITIONS, KubeClient, KubeConfig
from kubernaut_wfe.constants import (
    GROUP,
    PIPELINERUN_PLURAL,
    PLURAL,
    TASKRUN_PLURAL,
    TEKTON_GROUP,
    TEKTON_VERSION,
    VERSION,
    Label,
)
from kubernaut_wfe.controller.cache import ObjectCache, WfeKey
from kubernaut_wfe.controller.crdcheck import check_crd
from kubernaut_wfe.controller.metrics import ControllerMetrics
from kubernaut_wfe.controller.probes import HttpEndpoints
from kubernaut_wfe.controller.reconciler import Reconciler
from kubernaut_wfe.controller.workqueue import WorkQueue
from kubernaut_wfe.core.config import ControllerConfig
from kubernaut_wfe.datastorage.client import DataStorageClient
from kubernaut_wfe.datastorage.credentials import CaBundle, FileToken

logger = structlog.get_logger("kubernaut_wfe.controller")

TEKTON_CRDS = (f"{PIPELINERUN_PLURAL}.{TEKTON_GROUP}", f"{TASKRUN_PLURAL}.{TEKTON_GROUP}")
WATCH_SERVER_TIMEOUT = 300
"""Seconds; the API server ends each watch after this and kopf re-opens it, so that a watch
silently lost in the network (a zombie) never lasts longer."""
WATCH_CLIENT_TIMEOUT = 330
REQUEST_TIMEOUT = 30


def connection_info(config: KubeConfig) -> kopf.ConnectionInfo:
    """kopf's credentials from our kubeconfig reading (the token file is read now)."""
    token = config.token
    if config.token_file:
        with contextlib.suppress(OSError), open(config.token_file, encoding="utf-8") as file:
            token = file.read().strip() or token
    return kopf.ConnectionInfo(
        server=config.server,
        ca_path=None if config.ca_data else config.ca_file,
        ca_data=config.ca_data,
        insecure=config.insecure_skip_tls_verify,
        token=token,
        scheme="Bearer" if token else None,
        certificate_path=None if config.client_cert_data else config.client_cert_file,
        certificate_data=config.client_cert_data,
        private_key_path=None if config.client_key_data else config.client_key_file,
        private_key_data=config.client_key_data,
        default_namespace=config.namespace,
    )


def _object(event: Mapping[str, Any]) -> Mapping[str, Any]:
    obj = event.get("object")
    return obj if isinstance(obj, Mapping) else {}


class Controller:
    """One operator instance. `run(stop_flag)` serves until the flag is set (or a signal)."""

    def __init__(
        self, config: ControllerConfig, kube_config: KubeConfig, *, workers: int = 8
    ) -> None:
        self.config = config
        self.kube_config = kube_config
        self.metrics = ControllerMetrics()
        self.cache = ObjectCache()
        self.queue: WorkQueue[WfeKey] = WorkQueue(self._reconcile, workers=workers)
        self.registry = kopf.OperatorRegistry()
        self.settings = kopf.OperatorSettings()
        self.kube: KubeClient | None = None
        self.reconciler: Reconciler | None = None
        self.delivery: AuditDelivery | None = None
        self.http: HttpEndpoints | None = None
        self.ready = asyncio.Event()
        self._datastorage: DataStorageClient | None = None
        self._uids: dict[str, WfeKey] = {}
        self._resync: asyncio.Task[None] | None = None
        self._configure_kopf()

    # --- kopf -------------------------------------------------------------------------------

    def kopf_scope(self) -> tuple[list[str], bool]:
        """(namespaces, clusterwide) for `kopf.operator`; runs live in the execution namespace."""
        watched = list(self.config.controller.namespaces)
        if not watched:
            return [], True
        if self.config.execution.namespace not in watched:
            watched.append(self.config.execution.namespace)
        return watched, False

    def _configure_kopf(self) -> None:
        settings = self.settings
        settings.posting.level = logging.WARNING
        settings.watching.server_timeout = WATCH_SERVER_TIMEOUT
        settings.watching.client_timeout = WATCH_CLIENT_TIMEOUT
        settings.watching.connect_timeout = REQUEST_TIMEOUT
        settings.networking.request_timeout = REQUEST_TIMEOUT
        selector = Label.WORKFLOW_EXECUTION.value
        settings.watching.label_selectors[TEKTON_GROUP, PIPELINERUN_PLURAL] = selector
        settings.watching.label_selectors[TEKTON_GROUP, TASKRUN_PLURAL] = selector
        registry = self.registry

        @kopf.on.login(registry=registry)
        def login(**_: Any) -> kopf.ConnectionInfo:
            return connection_info(self.kube_config)

        @kopf.on.event(GROUP, VERSION, PLURAL, registry=registry)
        def wfe_event(event: Mapping[str, Any], **_: Any) -> None:
            self.on_wfe_event(event)

        @kopf.on.event(TEKTON_GROUP, TEKTON_VERSION, PIPELINERUN_PLURAL, registry=registry)
        def run_event(event: Mapping[str, Any], **_: Any) -> None:
            self.on_run_event(event)

        @kopf.on.event(TEKTON_GROUP, TEKTON_VERSION, TASKRUN_PLURAL, registry=registry)
        def taskrun_event(event: Mapping[str, Any], **_: Any) -> None:
            self.on_taskrun_event(event)

    def _in_scope(self, namespace: str) -> bool:
        watched = self.config.controller.namespaces
        return not watched or namespace in watched

    def on_wfe_event(self, event: Mapping[str, Any]) -> None:
        """Cache the delivered WFE and queue it (a deletion drops it)."""
        obj = _object(event)
        meta = obj.get("metadata") or {}
        key: WfeKey = (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        uid = str(meta.get("uid") or "")
        if not self._in_scope(key[0]):
            return
        if event.get("type") == "DELETED":
            self.cache.drop_wfe(key, uid or None)
            self._uids.pop(uid, None)
            if self.reconciler is not None:
                self.reconciler.forget(uid)
            return
        self.cache.store_wfe(obj)
        self._uids[uid] = key
        self.queue.add(key)

    def on_run_event(self, event: Mapping[str, Any]) -> None:
        """Cache the run and queue the WFE its annotation names."""
        obj = _object(event)
        if event.get("type") == "DELETED":
            key = self.cache.drop_run(obj)
        else:
            key = self.cache.store_run(obj)
        if key is not None and self.cache.has_wfe(key):
            self.queue.add(key)

    def on_taskrun_event(self, event: Mapping[str, Any]) -> None:
        """Cache the TaskRun and queue the WFE of its run."""
        key = self.cache.store_taskrun(_object(event), deleted=event.get("type") == "DELETED")
        if key is not None and self.cache.has_wfe(key):
            self.queue.add(key)

    def on_audit_outcome(self, uid: str) -> None:
        """Delivery resolved an event of this WFE: fold it into its status soon."""
        key = self._uids.get(uid)
        if key is not None:
            self.queue.add(key)

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Check the CRD, then start delivery, workers, resync and the HTTP endpoints.

        Raises `CrdCheckError` when the installed CRD is too old.
        """
        self.kube = KubeClient(self.kube_config)
        await check_crd(self.kube)
        audit = self.config.audit
        self._datastorage = DataStorageClient(
            audit.datastorage_url,
            timeout=audit.timeout.total_seconds(),
            token_provider=FileToken(audit.token_file) if audit.token_file else None,
            verify=CaBundle(audit.ca_file) if audit.ca_file else True,
        )
        self.delivery = AuditDelivery(
            self._datastorage,
            registry=self.metrics.registry,
            config=AuditDeliveryConfig(
                batch_size=audit.batch_size,
                flush_interval=audit.flush_interval.total_seconds(),
                buffer_size=max(audit.buffer_size, audit.batch_size),
                stop_timeout=audit.shutdown_flush_timeout.total_seconds(),
            ),
            on_outcome=self.on_audit_outcome,
        )
        self.delivery.start()
        self.reconciler = Reconciler(
            config=self.config,
            kube=self.kube,
            cache=self.cache,
            metrics=self.metrics,
            schedule=self._schedule,
            delivery=self.delivery,
        )
        self.queue.start()
        self._resync = asyncio.create_task(self._resync_forever(), name="resync")
        self.http = HttpEndpoints(
            registry=self.metrics.registry,
            metrics_addr=self.config.controller.metrics_addr,
            probe_addr=self.config.controller.health_probe_addr,
            alive=self._alive,
            ready=self._readiness,
        )
        await self.http.start()
        logger.info("controller started", endpoints=self.http.addresses)

    async def stop(self) -> None:
        """Stop taking work, finish in-flight reconciles, flush audit within its bound."""
        logger.info("controller stopping")
        if self._resync is not None:
            self._resync.cancel()
            await asyncio.gather(self._resync, return_exceptions=True)
        await self.queue.stop()
        logger.info("workers stopped")
        if self.delivery is not None:
            await self.delivery.stop(self.config.audit.shutdown_flush_timeout.total_seconds())
        if self.http is not None:
            await self.http.stop()
        if self._datastorage is not None:
            await self._datastorage.aclose()
        if self.kube is not None:
            await self.kube.close()
        logger.info("controller stopped")

    async def run(self, stop_flag: asyncio.Event | None = None) -> None:
        """Start, serve the kopf operator until `stop_flag` (or SIGINT/SIGTERM), stop."""
        namespaces, clusterwide = self.kopf_scope()
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        kopf_ready = asyncio.Event()
        readiness = asyncio.create_task(self._mark_ready(kopf_ready))
        try:
            await kopf.operator(
                registry=self.registry,
                settings=self.settings,
                standalone=True,
                clusterwide=clusterwide,
                namespaces=namespaces,
                stop_flag=stop_flag,
                ready_flag=kopf_ready,
            )
        finally:
            readiness.cancel()
            await self.stop()

    async def _mark_ready(self, kopf_ready: asyncio.Event) -> None:
        await kopf_ready.wait()
        self.ready.set()

    def _schedule(self, key: WfeKey, delay: float) -> None:
        self.queue.add_after(key, delay)

    async def _reconcile(self, key: WfeKey) -> None:
        assert self.reconciler is not None
        try:
            await self.reconciler.reconcile(key)
        except Exception:
            self.metrics.errors.inc()
            raise

    async def _resync_forever(self) -> None:
        period = self.config.execution.resync_period.total_seconds()
        while True:
            await asyncio.sleep(period)
            for key in self.cache.wfe_keys():
                uid = self.cache.wfe_uid(key)
                if uid is not None and self.reconciler and not self.reconciler.is_settled(uid):
                    self.queue.add(key)

    def _alive(self) -> str | None:
        if self._resync is None or self._resync.done():
            return "the controller is not running"
        return None

    async def _readiness(self) -> str | None:
        if not self.ready.is_set() or self.kube is None:
            return "the watches are not established yet"
        for name in TEKTON_CRDS:
            if await self.kube.get(CUSTOM_RESOURCE_DEFINITIONS, name) is None:
                return f"the Tekton CRD {name} is not installed"
        return None
