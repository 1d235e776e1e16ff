"""A write that meets a newer object (409) is re-read and reconciled again at once; a write that
keeps conflicting backs off (found by the chaos soak: 409s answered for seconds made every WFE's
reconcile a hot loop of GET and PATCH)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kubernaut_wfe.core.actions import conflict_delay
from kubernaut_wfe.reconcile.cache import ObjectCache

from .conftest import KubeFactory, reconciler_on, wfe_document  # noqa: TID252

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
KEY = ("team", "w")


class ConflictingApi:
    """Every PATCH of the WFE answers 409 while `conflicting`; GETs answer the WFE."""

    def __init__(self, wfe: dict[str, Any]) -> None:
        self.wfe = wfe
        self.conflicting = True
        self.patches = 0

    def __call__(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        if path.endswith("/events"):
            return 201, body
        if method == "PATCH":
            self.patches += 1
            if self.conflicting:
                return 409, {"kind": "Status", "reason": "Conflict", "code": 409}
            return 200, self.wfe
        return 200, self.wfe


@pytest.mark.parametrize(
    ("conflicts", "seconds"),
    [(1, 0.0), (2, 0.1), (3, 0.2), (4, 0.4), (9, 12.8), (10, 25.6), (11, 30.0), (60, 30.0)],
)
def test_the_first_conflict_is_retried_at_once_then_they_back_off(
    conflicts: int, seconds: float
) -> None:
    assert conflict_delay(conflicts) == timedelta(seconds=seconds)


async def test_consecutive_conflicts_back_off_and_a_clean_reconcile_resets_them(
    scripted_kube: KubeFactory,
) -> None:
    wfe = wfe_document({})
    api = ConflictingApi(wfe)
    cache = ObjectCache()
    cache.store_wfe(wfe)
    delays: list[float] = []
    subject = reconciler_on(
        await scripted_kube(api), cache, now=lambda: NOW, schedule=lambda _, d: delays.append(d)
    )
    for _ in range(4):
        await subject.reconcile(KEY)
    assert delays == [0.0, 0.1, 0.2, 0.4]
    assert api.patches == 4, "one write per reconcile: the back-off is the scheduler's"
    api.conflicting = False
    await subject.reconcile(KEY)
    api.conflicting = True
    delays.clear()
    await subject.reconcile(KEY)
    assert delays[-1] == 0.0, "a reconcile that wrote resets the count"
