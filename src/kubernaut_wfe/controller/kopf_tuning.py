"""kopf settings for an operator whose handlers are all `@kopf.on.event` (watching) handlers.

kopf computes, on every watch event, the object's "essence" (a deep copy of the whole body,
twice) and its stored handler progress, to detect changes for `on.create/update/delete`
handlers. This controller registers none (the work queue decides what to do), so that work is
pure overhead: about a fifth of the controller's CPU in a 1,000-WFE burst. These storages make
it free. They must not be used with change-detecting or daemon/timer handlers.

kopf also keeps a worker task per object alive for a while after its last event. Ours only hand
the event on, so they need not linger: at start-up over 10,000 WFEs, workers kept for kopf's
default 5 s overlap with the first reconciles and raise the peak (and so the lasting) RSS by
about 60 MiB.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

import kopf

WORKER_IDLE_TIMEOUT = 1.0
"""Seconds an object's kopf worker waits for that object's next event before it exits."""


class NoDiffBaseStorage(kopf.DiffBaseStorage):
    """Keeps no "last handled" state and computes no essence."""

    def build(
        self, *, body: kopf.Body, extra_fields: Iterable[Any] | None = None
    ) -> kopf.BodyEssence:
        """An empty essence (nothing is ever compared)."""
        return cast(kopf.BodyEssence, {})

    def fetch(self, *, body: kopf.Body) -> kopf.BodyEssence | None:
        """No stored essence."""
        return None

    def store(self, *, body: kopf.Body, patch: kopf.Patch, essence: kopf.BodyEssence) -> None:
        """Stores nothing (and so never patches the object)."""


class NoProgressStorage(kopf.ProgressStorage):
    """Keeps no per-handler progress (watching handlers have none)."""

    def fetch(self, *, key: Any, body: kopf.Body) -> kopf.ProgressRecord | None:
        """No stored progress."""
        return None

    def store(
        self, *, key: Any, record: kopf.ProgressRecord, body: kopf.Body, patch: kopf.Patch
    ) -> None:
        """Stores nothing."""

    def purge(self, *, key: Any, body: kopf.Body, patch: kopf.Patch) -> None:
        """Nothing to purge."""

    def touch(self, *, body: kopf.Body, patch: kopf.Patch, value: str | None) -> None:
        """Nothing to touch."""

    def clear(self, *, essence: kopf.BodyEssence) -> kopf.BodyEssence:
        """The essence as it is (no copy: nothing stored in it to clear)."""
        return essence


def tune_for_watching_only(settings: kopf.OperatorSettings) -> None:
    """Skip kopf's change-detection bookkeeping (see the module docstring)."""
    settings.persistence.diffbase_storage = NoDiffBaseStorage()
    settings.persistence.progress_storage = NoProgressStorage()
    settings.queueing.idle_timeout = WORKER_IDLE_TIMEOUT
