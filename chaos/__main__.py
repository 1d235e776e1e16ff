"""`make chaos` (`python -m chaos`): a chaos soak on a control plane of its own; the report in
`chaos/results/latest.json` and `.md`. `CHAOS_SEED` replays a run's schedule and workload;
`--short` is the version `make test` runs."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import tempfile
from pathlib import Path

from chaos.report import markdown
from chaos.run import FULL, SHORT, ChaosSettings, Outcome, run_chaos
from kubernaut_wfe_tools.testing.postgres import throwaway_postgres
from kubernaut_wfe_tools.testing.testcluster import built, owned_cluster
from kubernaut_wfe_tools.testing.testcluster.build import not_built_reason

RESULTS = Path(__file__).parent / "results"


def seed_from_environment() -> int:
    """`CHAOS_SEED` when set, else a fresh one (printed, so the run can be replayed)."""
    given = os.environ.get("CHAOS_SEED", "").strip()
    if not given:
        return secrets.randbelow(2**31)
    try:
        return int(given)
    except ValueError:
        raise SystemExit(f"CHAOS_SEED: not an integer: {given!r}") from None


async def _run(seed: int, settings: ChaosSettings, workdir: Path, database_url: str) -> Outcome:
    binaries = built()
    if binaries is None:
        raise SystemExit(not_built_reason())
    async with owned_cluster(workdir / "testcluster", binaries) as cluster:
        return await run_chaos(cluster, database_url, workdir, seed, settings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument("--short", action="store_true", help="the short version (under 3 min)")
    parser.add_argument("--out", type=Path, help="where to write latest.json/.md")
    options = parser.parse_args(argv)
    seed = seed_from_environment()
    settings = SHORT if options.short else FULL
    out = options.out or (None if options.short else RESULTS)
    print(f"chaos seed {seed} (CHAOS_SEED={seed} make chaos replays it)", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="kwfe-chaos-"))
    with throwaway_postgres() as database_url:
        outcome = asyncio.run(_run(seed, settings, workdir, database_url))
    text = markdown(outcome.document)
    print(text)
    print(f"logs: {workdir}")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "latest.json").write_text(json.dumps(outcome.document, indent=2) + "\n")
        (out / "latest.md").write_text(text)
    return 0 if all(item["ok"] for item in outcome.document["invariants"]) else 1


if __name__ == "__main__":
    sys.exit(main())
