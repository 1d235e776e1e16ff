"""The kubelet's Event recorder for one pod: posts an Event, or counts the same Event again
(`count`, `lastTimestamp`) when it repeats, as client-go's correlator does."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Final

from kubernaut_wfe_tools.node_simulator._api import ApiError, CoreApi, NotFoundError
from kubernaut_wfe_tools.node_simulator.documents import events
from kubernaut_wfe_tools.node_simulator.documents.events import EventSubject, KubeletEvent
from kubernaut_wfe_tools.tekton_simulator.clock import Clock

logger = logging.getLogger(__name__)

TRANSIENT_STATUSES: Final = frozenset({409, 429, 500, 502, 503, 504})


class EventRecorder:
    """Posts the Events of `subject` (a pod) from the kubelet of `node`."""

    def __init__(
        self,
        api: CoreApi,
        subject: EventSubject,
        node: str,
        clock: Clock,
        resource_version: Callable[[], str | None] = lambda: None,
    ) -> None:
        self._api = api
        self._subject = subject
        self._node = node
        self._clock = clock
        self._resource_version = resource_version
        self._posted: dict[tuple[str, str, str], tuple[str, int]] = {}
        """Each Event posted, by what makes it the same Event: its name and count."""
        self._last_nanos = 0

    async def post(self, event: KubeletEvent, at: datetime) -> None:
        """Post `event`, or count it once more when the same one was posted before. The API
        refusing an Event loses only that Event, as with the kubelet's recorder; a transient
        failure is raised for the caller to retry."""
        namespace = self._subject.namespace
        try:
            if event.key in self._posted:
                name, count = self._posted[event.key]
                try:
                    await self._api.patch_event(
                        namespace, name, events.repeat_patch(event, count + 1, at)
                    )
                except NotFoundError:
                    pass  # removed meanwhile: posted anew below
                else:
                    self._posted[event.key] = (name, count + 1)
                    return
            name = events.event_name(self._subject.name, self._unique_nanos())
            document = events.event_object(
                self._subject,
                event,
                name=name,
                node=self._node,
                at=at,
                pod_resource_version=self._resource_version(),
            )
            await self._api.create_event(namespace, document)
            self._posted[event.key] = (name, 1)
        except ApiError as error:
            if error.status in TRANSIENT_STATUSES:
                raise
            logger.warning(
                "event %s on pod %s refused: %s", event.reason, self._subject.name, error
            )

    def _unique_nanos(self) -> int:
        nanos = int(self._clock.now().timestamp() * 1_000_000_000)
        self._last_nanos = max(nanos, self._last_nanos + 1)
        return self._last_nanos
