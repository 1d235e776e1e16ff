"""The kopf side of the controller: credentials, watch settings and the watch handlers (WFEs;
PipelineRuns and TaskRuns; Jobs, their pods and the Warning Events about them), which only hand
their events to `WatchIntake`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import kopf

from kubernaut_wfe.adapters.kube_connection import CredentialsError, KubeConnection
from kubernaut_wfe.adapters.permissions import Permission
from kubernaut_wfe.constants import (
    BATCH_API_VERSION,
    GROUP,
    JOB_PLURAL,
    PIPELINERUN_PLURAL,
    PLURAL,
    TASKRUN_PLURAL,
    TEKTON_GROUP,
    TEKTON_VERSION,
    VERSION,
    WARNING_EVENTS_OF_NAMESPACE,
    Label,
)
from kubernaut_wfe.controller.kopf_tuning import tune_for_watching_only
from kubernaut_wfe.core.config import ControllerConfig
from kubernaut_wfe.reconcile.intake import WatchIntake

WATCH_CLIENT_MARGIN = 30
"""Seconds the client waits beyond the server timeout before it gives a watch up itself."""
REQUEST_TIMEOUT = 30
CORE_VERSION = "v1"
PODS_PLURAL = "pods"
EVENTS_PLURAL = "events"
LOGIN_RETRY_DELAY = 10.0
"""Seconds before kopf asks for credentials again when the token file could not be read (its
requests wait meanwhile)."""


BATCH_GROUP, BATCH_VERSION = BATCH_API_VERSION.split("/")
WATCHED: tuple[tuple[str, str, str], ...] = (
    (GROUP, VERSION, PLURAL),
    (TEKTON_GROUP, TEKTON_VERSION, PIPELINERUN_PLURAL),
    (TEKTON_GROUP, TEKTON_VERSION, TASKRUN_PLURAL),
    (BATCH_GROUP, BATCH_VERSION, JOB_PLURAL),
    ("", CORE_VERSION, PODS_PLURAL),
    ("", CORE_VERSION, EVENTS_PLURAL),
)
"""(group, version, plural) of every kind kopf watches here (the handlers below)."""


def watch_permissions(config: ControllerConfig) -> list[Permission]:
    """The `list` and `watch` permissions kopf's watches need, in the scope it watches: kopf
    sends them with its own client, so a refusal is found by asking (`review_permissions`)."""
    namespaces, clusterwide = kopf_scope(config)
    scopes = [""] if clusterwide else namespaces
    return [
        Permission(verb, group, plural, namespace=namespace)
        for group, _, plural in WATCHED
        for namespace in scopes
        for verb in ("list", "watch")
    ]


def kopf_scope(config: ControllerConfig) -> tuple[list[str], bool]:
    """(namespaces, clusterwide) for `kopf.operator`; runs live in the execution namespace."""
    watched = list(config.controller.namespaces)
    if not watched:
        return [], True
    if config.execution.namespace not in watched:
        watched.append(config.execution.namespace)
    return watched, False


def configure_kopf(
    settings: kopf.OperatorSettings,
    registry: kopf.OperatorRegistry,
    *,
    intake: WatchIntake,
    connection: KubeConnection,
    watch_timeout: float,
    execution_namespace: str,
) -> None:
    """Watch WFEs; our PipelineRuns, TaskRuns, Jobs and their pods (label-selected on the
    server); and the Warning Events about objects in the execution namespace (field-selected on
    the server), handing every event to `intake`; log in over `connection`. The API server ends
    each watch after `watch_timeout` seconds and kopf re-opens it, so that a watch silently lost
    in the network (a zombie) never lasts longer."""
    settings.posting.level = logging.WARNING
    tune_for_watching_only(settings)
    settings.watching.server_timeout = round(watch_timeout)
    settings.watching.client_timeout = watch_timeout + WATCH_CLIENT_MARGIN
    settings.watching.connect_timeout = REQUEST_TIMEOUT
    settings.networking.request_timeout = REQUEST_TIMEOUT
    selector = Label.WORKFLOW_EXECUTION.value
    wfes, pipelineruns, taskruns, jobs, pods_in_group, events_in_group = WATCHED
    pods, events = pods_in_group[1:], events_in_group[1:]  # kopf's spelling of the core group
    settings.watching.label_selectors[TEKTON_GROUP, PIPELINERUN_PLURAL] = selector
    settings.watching.label_selectors[TEKTON_GROUP, TASKRUN_PLURAL] = selector
    settings.watching.label_selectors[jobs] = selector
    settings.watching.label_selectors[pods] = selector
    settings.watching.field_selectors[events] = WARNING_EVENTS_OF_NAMESPACE.format(
        namespace=execution_namespace
    )

    @kopf.on.login(registry=registry)
    async def login(**_: Any) -> kopf.ConnectionInfo:
        try:
            return await connection.login()
        except CredentialsError as error:
            # One error line naming the file (kopf logs it), and kopf asks again later.
            raise kopf.TemporaryError(str(error), delay=LOGIN_RETRY_DELAY) from None

    @kopf.on.event(*wfes, registry=registry)
    async def wfe_event(event: Mapping[str, Any], **_: Any) -> None:
        intake.on_wfe_event(event)

    @kopf.on.event(*pipelineruns, registry=registry)
    async def run_event(event: Mapping[str, Any], **_: Any) -> None:
        intake.on_run_event(event)

    @kopf.on.event(*taskruns, registry=registry)
    async def taskrun_event(event: Mapping[str, Any], **_: Any) -> None:
        intake.on_taskrun_event(event)

    @kopf.on.event(*jobs, registry=registry)
    async def job_event(event: Mapping[str, Any], **_: Any) -> None:
        intake.on_run_event(event)

    @kopf.on.event(*pods, registry=registry)
    async def pod_event(event: Mapping[str, Any], **_: Any) -> None:
        intake.on_pod_event(event)

    @kopf.on.event(*events, registry=registry)
    async def warning_event(event: Mapping[str, Any], **_: Any) -> None:
        intake.on_warning_event(event)
