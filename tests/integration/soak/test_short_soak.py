"""The short chaos soak (`python -m chaos --short`, the same code as `make chaos`): two controller
replicas with leader election on the real API server behind the fault proxy, both engines, the
audit service on PostgreSQL, every kind of fault of the full soak at a smaller scale. Every
invariant must hold."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chaos.report import markdown
from chaos.run import SHORT, run_chaos
from kubernaut_wfe_tools.testing.postgres import PostgresUnavailableError, throwaway_postgres
from kubernaut_wfe_tools.testing.testcluster import TestCluster

pytestmark = pytest.mark.timeout(420)

SEED = int(os.environ.get("CHAOS_SEED") or 20261204)
"""A fixed schedule in `make test` (a failure replays with the same seed); `CHAOS_SEED` over it."""


async def test_the_short_soak_keeps_every_invariant(cluster: TestCluster, tmp_path: Path) -> None:
    try:
        with throwaway_postgres() as database_url:
            outcome = await run_chaos(cluster, database_url, tmp_path, SEED, SHORT)
    except PostgresUnavailableError as error:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(error))
    document = outcome.document
    broken = [item["name"] for item in document["invariants"] if not item["ok"]]
    assert not broken, f"{markdown(document)}\nlogs: {outcome.logs}"
    assert document["kills"] >= SHORT.plan.leader_kills
    assert document["events_expected"] == document["events_stored"] > 0
    assert document["faults_injected"].get("api-500", 0) >= 1
