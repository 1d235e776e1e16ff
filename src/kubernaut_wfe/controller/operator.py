"""`Controller`: the kopf registry and settings, the caches the watches fill, the work queue,
the reconciler, audit delivery and the HTTP endpoints, started and stopped together."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import ssl
import threading
from collections.abc import Iterator

import httpx
import kopf
import structlog

from kubernaut_wfe.adapters.api_reach import ApiReach
from kubernaut_wfe.adapters.audit_config import AuditDeliveryConfig
from kubernaut_wfe.adapters.audit_delivery import AuditDelivery, PendingEvent
from kubernaut_wfe.adapters.discovery import ApiDiscovery
from kubernaut_wfe.adapters.kube import ApiError, KubeClient, KubeConnection, NotFound
from kubernaut_wfe.adapters.kube_resources import RUN_RESOURCES
from kubernaut_wfe.constants import Label
from kubernaut_wfe.controller.crdcheck import check_crd
from kubernaut_wfe.controller.health import (
    HttpEndpoints,
    LoopHeartbeat,
    ProbeReport,
    WatchMonitor,
    datastorage_state,
    liveness_report,
    readiness_report,
)
from kubernaut_wfe.controller.kopf_setup import configure_kopf, kopf_scope, watch_permissions
from kubernaut_wfe.controller.leader import (
    LeaderLostError,
    Leadership,
    default_identity,
    election_namespace,
    election_settings,
)
from kubernaut_wfe.core.config import ControllerConfig
from kubernaut_wfe.datastorage.client import DataStorageClient
from kubernaut_wfe.datastorage.credentials import CaBundle, FileToken
from kubernaut_wfe.reconcile.audit_spool import AuditSpool
from kubernaut_wfe.reconcile.cache import ObjectCache, WfeKey
from kubernaut_wfe.reconcile.intake import WatchIntake
from kubernaut_wfe.reconcile.metrics import ControllerMetrics
from kubernaut_wfe.reconcile.reconciler import Reconciler
from kubernaut_wfe.reconcile.workqueue import WorkQueue

logger = structlog.get_logger("kubernaut_wfe.controller")

DATASTORAGE_PROBE_TIMEOUT = 2.0
LIST_PAGE_SIZE = 500
"""Objects per page of a LIST (pages keep the API server's memory per request bounded)."""


class Controller:
    """One operator instance. `run(stop_flag)` serves until the flag is set (or a signal)."""

    def __init__(
        self,
        config: ControllerConfig,
        connection: KubeConnection,
        *,
        workers: int = 8,
    ) -> None:
        """kopf, the API client and the watch monitor all use `connection`."""
        self.config = config
        self.connection = connection
        self.watch_timeout = config.controller.watch_timeout.total_seconds()
        self.leader_settings = election_settings(config.controller, connection.namespace)
        self.leadership: Leadership | None = None
        self.leader_lost: LeaderLostError | None = None
        self.heartbeat = LoopHeartbeat()
        self.watch_monitor: WatchMonitor | None = None
        self.spool: AuditSpool | None = None
        self.metrics = ControllerMetrics()
        self.cache = ObjectCache()
        self.queue: WorkQueue[WfeKey] = WorkQueue(self._reconcile, workers=workers)
        self.intake = WatchIntake(self.cache, self.queue, config.controller.namespaces)
        self.registry = kopf.OperatorRegistry()
        self.settings = kopf.OperatorSettings()
        configure_kopf(
            self.settings,
            self.registry,
            intake=self.intake,
            connection=connection,
            watch_timeout=self.watch_timeout,
            execution_namespace=config.execution.namespace,
        )
        self.kube: KubeClient | None = None
        self.api_reach: ApiReach | None = None
        self.discovery: ApiDiscovery | None = None
        self.reconciler: Reconciler | None = None
        self.delivery: AuditDelivery | None = None
        self.http: HttpEndpoints | None = None
        self.ready = asyncio.Event()
        self._datastorage: DataStorageClient | None = None
        self._resync: asyncio.Task[None] | None = None
        self._probe_http: httpx.AsyncClient | None = None
        self._queue_stopping: asyncio.Task[None] | None = None
        self._delivery_stopping: asyncio.Task[list[PendingEvent]] | None = None

    # --- lifecycle --------------------------------------------------------------------------

    async def start_endpoints(self) -> None:
        """Open the API client, the heartbeat and the HTTP endpoints (standbys serve them too)."""
        self.kube = KubeClient(self.connection)
        self._probe_http = httpx.AsyncClient(timeout=DATASTORAGE_PROBE_TIMEOUT, trust_env=False)
        self.heartbeat.start()
        self.http = HttpEndpoints(
            registry=self.metrics.registry,
            metrics_addr=self.config.controller.metrics_addr,
            probe_addr=self.config.controller.health_probe_addr,
            alive=self._alive,
            ready=self._readiness,
        )
        await self.http.start()
        logger.info("endpoints serving", endpoints=self.http.addresses)

    async def start(self) -> None:
        """Check the CRD and the permissions of kopf's watches, read API discovery (the kinds
        targets name), then start delivery, workers, resync and the watch monitor.

        Raises `CrdCheckError` when the installed CRD is too old.
        """
        if self.kube is None:
            await self.start_endpoints()
        assert self.kube is not None
        await check_crd(self.kube)
        await self.kube.review_permissions(watch_permissions(self.config))
        self.discovery = ApiDiscovery(self.kube)
        await self.discovery.load()  # when it fails, WFEs that need it wait for a later read
        await self._list_runs()
        audit = self.config.audit
        self._datastorage = DataStorageClient(
            audit.datastorage_url,
            timeout=audit.timeout.total_seconds(),
            token_provider=FileToken(audit.token_file) if audit.token_file else None,
            verify=CaBundle(audit.ca_file) if audit.ca_file else True,
        )
        try:
            await self._datastorage.open()
        except (OSError, ssl.SSLError) as error:
            # Audit delivery retries (and logs) until the credentials are there; the WFEs wait
            # for no one.
            logger.warning("the DataStorage TLS set-up failed", error=str(error))
        self.delivery = AuditDelivery(
            self._datastorage,
            registry=self.metrics.registry,
            config=AuditDeliveryConfig(
                batch_size=audit.batch_size,
                flush_interval=audit.flush_interval.total_seconds(),
                buffer_size=max(audit.buffer_size, audit.batch_size),
                max_retries=audit.max_retries,
                stop_timeout=audit.shutdown_flush_timeout.total_seconds(),
            ),
            on_outcome=self.intake.on_audit_outcome,
            on_settled=self._on_audit_settled,
        )
        self.delivery.start()
        namespace = election_namespace(
            self.config.controller.leader_election_namespace, self.connection.namespace
        )
        self.spool = AuditSpool(self.kube, self.delivery, namespace)
        await self.spool.recover()
        self.reconciler = Reconciler(
            config=self.config,
            kube=self.kube,
            cache=self.cache,
            metrics=self.metrics,
            schedule=self._schedule,
            discovery=self.discovery,
            delivery=self.delivery,
            spool=self.spool,
        )
        self.intake.reconciler = self.reconciler
        self.queue.start()
        self._resync = asyncio.create_task(self._resync_forever(), name="resync")
        namespaces, clusterwide = kopf_scope(self.config)
        self.watch_monitor = WatchMonitor(
            self.kube, None if clusterwide else namespaces[0], server_timeout=self.watch_timeout
        )
        self.watch_monitor.start()
        if self.leader_settings is None:
            self.metrics.leader.set(1)
        logger.info("controller started")

    async def stop(self) -> None:
        """Stop taking work, finish in-flight reconciles, flush audit within its bound, then
        give the Lease up."""
        logger.info("controller stopping")
        if self._resync is not None:
            self._resync.cancel()
            await asyncio.gather(self._resync, return_exceptions=True)
        if self._queue_stopping is not None:
            await asyncio.gather(self._queue_stopping, return_exceptions=True)
        await self.queue.stop()
        if self.reconciler is not None:
            await self.reconciler.stop()  # flushes queued Events while the client is still open
        logger.info("workers stopped")
        if self._delivery_stopping is not None:
            await asyncio.gather(self._delivery_stopping, return_exceptions=True)
        if self.delivery is not None:
            await self.delivery.stop(self._flush_bound())
        if self.spool is not None:
            await self.spool.close()
        if self.leadership is not None:
            # Renewed until here, so that no standby takes over while work is finishing.
            await self.leadership.release()
            self.metrics.leader.set(0)
        if self.watch_monitor is not None:
            await self.watch_monitor.stop()
        await self.heartbeat.stop()
        if self.http is not None:
            await self.http.stop()
        if self._probe_http is not None:
            await self._probe_http.aclose()
        if self._datastorage is not None:
            await self._datastorage.aclose()
        if self.kube is not None:
            await self.kube.close()
        logger.info("controller stopped")

    def _identity(self) -> str:
        """Who this instance is: its Lease holder identity, else one made the same way."""
        if self.leader_settings is not None:
            return self.leader_settings.identity
        return default_identity()

    def _on_audit_settled(self, uid: str) -> None:
        if self.spool is not None:
            self.spool.on_settled(uid)

    async def run(self, stop_flag: asyncio.Event | None = None) -> None:
        """Serve until `stop_flag` (or SIGINT/SIGTERM): with leader election, wait for the Lease
        first. Raises `LeaderLostError` after stopping when the Lease was lost."""
        namespaces, clusterwide = kopf_scope(self.config)
        stopping = asyncio.Event()
        relaying = asyncio.create_task(relay(stop_flag, stopping)) if stop_flag else None
        kopf_ready = asyncio.Event()
        readiness = asyncio.create_task(self._mark_ready(kopf_ready))
        try:
            with stop_on_signals(stopping):
                await self.start_endpoints()
                if not await self._reach_api(stopping):
                    return
                if self.leader_settings is not None and not await self._lead(stopping):
                    return
                await self.start()
            if not stopping.is_set():
                await kopf.operator(
                    registry=self.registry,
                    settings=self.settings,
                    standalone=True,
                    clusterwide=clusterwide,
                    namespaces=namespaces,
                    stop_flag=stopping,
                    ready_flag=kopf_ready,
                    # Unnamed, kopf names itself after the process's user, and a container's
                    # numeric uid has no passwd entry (getpwuid fails): name it as the Lease does.
                    identity=self._identity(),  # type: ignore[arg-type]
                )
        finally:
            readiness.cancel()
            if relaying is not None:
                relaying.cancel()
            await self.stop()
        if self.leader_lost is not None:
            raise self.leader_lost

    async def _list_runs(self) -> None:
        """Put every run of ours (PipelineRuns and Jobs) into the cache once, before the watches
        start: from then on the cache is complete, and a finished WFE whose run it lacks needs
        no read (without this a restart reads one long-gone run per settled WFE)."""
        assert self.kube is not None
        listed = 0
        for resource in RUN_RESOURCES.values():
            try:
                runs = await self.kube.list(
                    resource,
                    self.config.execution.namespace,
                    label_selector=Label.WORKFLOW_EXECUTION.value,
                    limit=LIST_PAGE_SIZE,
                )
            except NotFound:
                continue  # the kind is not served (no Tekton installed): none of its runs exist
            except ApiError as error:
                logger.warning(
                    "listing the runs failed; each is read when needed",
                    kind=resource.kind,
                    error=str(error),
                )
                return
            for run in runs:
                self.cache.store_run(run, owned=True)
            listed += len(runs)
        self.cache.runs_complete = True
        logger.info("runs listed", count=listed)

    async def _reach_api(self, stopping: asyncio.Event) -> bool:
        """Wait until the API server answers as one (False if stopped first); raises
        `ApiServerUnusableError` when it never will as configured."""
        assert self.kube is not None
        self.api_reach = ApiReach(self.kube)
        reaching = asyncio.create_task(self.api_reach.wait(), name="reach the API server")
        stopped = asyncio.create_task(stopping.wait())
        try:
            await asyncio.wait({reaching, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (reaching, stopped):
                task.cancel()
            await asyncio.gather(stopped, return_exceptions=True)
        if not reaching.done() or reaching.cancelled():
            return False
        reaching.result()
        return True

    async def _lead(self, stopping: asyncio.Event) -> bool:
        """Wait for the Lease (False if stopped first); a later loss stops everything."""
        assert self.kube is not None
        assert self.leader_settings is not None

        def lost(error: LeaderLostError) -> None:
            self.leader_lost = error
            self.metrics.leader.set(0)
            logger.error("lost the leader lease; stopping", reason=str(error))
            # No new reconcile starts from here on; kopf and the rest stop behind it.
            self._queue_stopping = asyncio.create_task(self.queue.stop())
            if self.delivery is not None:
                # Another instance may lead already and deliver the same events after asking
                # DataStorage: a flush from here could land after its question, and be stored
                # twice (found by `make chaos`). What is dropped is not lost: every due event is
                # in its WFE's status or in the audit spool, for the new leader.
                self._delivery_stopping = asyncio.create_task(self.delivery.stop(0))
            stopping.set()

        self.leadership = Leadership(self.kube, self.leader_settings, lost)
        if not await self.leadership.acquire_unless(stopping):
            return False
        self.metrics.leader.set(1)
        return True

    def _flush_bound(self) -> float:
        """How long audit delivery may flush at the stop: not at all once the Lease is lost."""
        if self.leader_lost is not None:
            return 0.0
        return self.config.audit.shutdown_flush_timeout.total_seconds()

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
            self.intake.recheck_unsettled()

    def _alive(self) -> ProbeReport:
        return liveness_report(self.heartbeat, self.watch_monitor)

    async def _readiness(self) -> ProbeReport:
        leader = "disabled"
        if self.leader_settings is not None:
            leader = self.leadership.state if self.leadership else "standby"
        audit = self.config.audit
        return await readiness_report(
            api_problem=self.api_reach.problem if self.api_reach else None,
            leader=leader,
            watching=self.ready.is_set(),
            kube=self.kube,
            datastorage=await datastorage_state(
                self._probe_http, audit.datastorage_url, audit.datastorage_health_url
            ),
            require_datastorage=audit.require_datastorage_for_readiness,
        )


@contextlib.contextmanager
def stop_on_signals(stopping: asyncio.Event) -> Iterator[None]:
    """SIGINT/SIGTERM set `stopping` (until kopf installs its own handlers): a standby may wait
    for the Lease for a long time and must still stop gracefully."""
    if threading.current_thread() is threading.main_thread():
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopping.set)
    yield


async def relay(source: asyncio.Event, target: asyncio.Event) -> None:
    """Set `target` once `source` is set."""
    await source.wait()
    target.set()
