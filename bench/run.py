"""`python -m bench`: run the scenarios, take medians over the repetitions, compare each with
its baseline from the same run, and write bench/results/<timestamp>.json|.md and latest.*."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python bench/run.py`: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import audit, harness, lifecycle, report, rss, targets
from bench.figures import figures
from bench.stats import git_commit, machine_facts, median, ratio
from bench.targets import TargetName

SCENARIOS = ("burst", "jobs", "rss", "audit")
"""`burst` and `jobs`: scenarios 1 and 2 with Tekton and with Job WFEs (`SCENARIO_ENGINES`)."""
TARGET_CHOICES = (*targets.TARGET_NAMES, "both")
WARM_UP_WFES = 100


def _log(message: str) -> None:
    print(f"[bench {datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def _median_of(runs: list[dict[str, Any]], *path: str) -> float:
    values = []
    for run in runs:
        value: Any = run
        for key in path:
            value = value[key]
        values.append(float(value))
    return median(values)


async def burst_scenarios(
    target: targets.Target,
    sizes: list[int],
    reps: int,
    workdir: Path,
    engine: lifecycle.Engine = lifecycle.TEKTON,
) -> dict[str, Any]:
    """Scenarios 1 and 2 (and CPU per lifecycle) with WFEs of `engine` on one target: per size,
    `reps` floor and controller runs, after one floor burst not counted (a real server is slower
    the first time: caches, connections)."""
    title = f"{report.TITLES[target.name]}, {report.ENGINE_TITLES[engine.name]}"
    _log(f"{title}: warm-up (a floor burst of {WARM_UP_WFES}, not counted)")
    await lifecycle.floor_burst(target, WARM_UP_WFES, workdir, engine)
    create: dict[str, Any] = {}
    completion: dict[str, Any] = {}
    cpu: dict[str, Any] = {}
    for size in sizes:
        floors, controllers = [], []
        for rep in range(reps):
            _log(f"{title}: create burst {size}: floor, repetition {rep + 1}/{reps}")
            floors.append(await lifecycle.floor_burst(target, size, workdir, engine))
            _log(f"{title}: create burst {size}: controller, repetition {rep + 1}/{reps}")
            controllers.append(
                await lifecycle.controller_lifecycle(target, size, workdir, engine=engine)
            )
        key = f"wfes_{size}"
        summary = {
            name: {
                metric: _median_of(runs, *prefix, metric)
                for metric in (
                    "p50_seconds",
                    "p99_seconds",
                    "makespan_seconds",
                    "requests_per_wfe",
                    "requests_per_wfe_until_quiet",
                )
            }
            for name, runs, prefix in (
                ("controller", controllers, ("create",)),
                ("floor", floors, ()),
            )
        }
        create[key] = {
            **summary,
            "p50_ratio_to_floor": ratio(
                summary["controller"]["p50_seconds"], summary["floor"]["p50_seconds"]
            ),
            "p99_ratio_to_floor": ratio(
                summary["controller"]["p99_seconds"], summary["floor"]["p99_seconds"]
            ),
            "makespan_ratio_to_floor": ratio(
                summary["controller"]["makespan_seconds"], summary["floor"]["makespan_seconds"]
            ),
            "runs": {"controller": [run["create"] for run in controllers], "floor": floors},
        }
        completion[key] = {
            "p50_seconds": _median_of(controllers, "completion", "p50_seconds"),
            "p99_seconds": _median_of(controllers, "completion", "p99_seconds"),
            "runs": [run["completion"] for run in controllers],
        }
        cpu[key] = {
            "cpu_seconds_per_wfe": _median_of(controllers, "lifecycle", "cpu_seconds_per_wfe"),
            "requests_per_wfe": _median_of(controllers, "lifecycle", "requests_per_wfe"),
            "runs": [run["lifecycle"] for run in controllers],
        }
    headline = f"wfes_{max(sizes)}"
    return {
        "create_burst": {
            "headline_wfes": max(sizes),
            "p99_ratio_to_floor": create[headline]["p99_ratio_to_floor"],
            "p50_ratio_to_floor": create[headline]["p50_ratio_to_floor"],
            "requests_per_wfe": create[headline]["controller"]["requests_per_wfe"],
            "floor_requests_per_wfe": create[headline]["floor"]["requests_per_wfe"],
            **create,
        },
        "completion_mirror": {
            "headline_wfes": max(sizes),
            "p50_seconds": completion[headline]["p50_seconds"],
            "p99_seconds": completion[headline]["p99_seconds"],
            **completion,
        },
        "lifecycle": {
            "cpu_seconds_per_wfe": cpu[headline]["cpu_seconds_per_wfe"],
            "requests_per_wfe": cpu[headline]["requests_per_wfe"],
            **cpu,
        },
    }


async def burst_on_targets(
    names: list[TargetName], scenarios: list[str], sizes: list[int], reps: int, workdir: Path
) -> dict[str, Any]:
    """`burst_scenarios` of each of `scenarios` (`burst`, `jobs`) on each target, one target
    after the other (a real server is started once for both); a target that cannot run here is
    skipped with its reason, a scenario that timed out is reported failed and the run goes on
    (in CI either is a failure). Results by scenario, then target."""
    unavailable = {name: targets.unavailable(name) for name in names}
    for name, reason in unavailable.items():
        if reason is not None and os.environ.get("CI"):
            raise SystemExit(f"bench: {report.TITLES[name]}: {reason}")
    measured: dict[str, dict[str, Any]] = {scenario: {} for scenario in scenarios}
    for name in names:
        reason = unavailable[name]
        if reason is not None:
            _log(f"{report.TITLES[name]}: skipped: {reason}")
            for scenario in scenarios:
                measured[scenario][name] = {"skipped": reason}
            continue
        # the first scenario's duration includes the server's start
        began, server = time.perf_counter(), targets.server_version(name)
        _log(f"{report.TITLES[name]}: starting ({server})")
        async with targets.opened(name, workdir) as target:
            for scenario in scenarios:
                engine = lifecycle.SCENARIO_ENGINES[scenario]
                try:
                    results = await burst_scenarios(target, sizes, reps, workdir, engine)
                except harness.BenchTimeoutError as error:
                    if os.environ.get("CI"):
                        raise
                    # the other scenarios' figures are worth keeping: the report names this one
                    _log(f"{report.TITLES[name]}, {scenario}: failed: {error}")
                    results = {"failed": str(error)}
                ended = time.perf_counter()
                measured[scenario][name] = {
                    "server": server,
                    "duration_seconds": ended - began,
                    **results,
                }
                began = ended
    return measured


async def rss_scenario(sizes: list[int], reps: int, workdir: Path) -> dict[str, Any]:
    """Scenario 3 with the runtime-only venv."""
    _log("runtime venv (.venv-runtime)")
    python = await asyncio.to_thread(rss.ensure_runtime_venv)
    figures: dict[str, Any] = {"runs": {}}
    for size in sizes:
        runs = []
        for rep in range(reps):
            _log(f"steady RSS {size}: repetition {rep + 1}/{reps}")
            runs.append(await rss.steady_rss(python, size, workdir))
        figures[f"wfes_{size}"] = _median_of(runs, "rss_mib")
        figures["runs"][f"wfes_{size}"] = runs
    return {"rss_mib": figures}


async def audit_scenario(
    events_count: int, reps: int, workdir: Path, readers: int = 0
) -> dict[str, Any]:
    """Scenario 4 on SQLite and PostgreSQL, delivery vs the raw batch floor, and (with
    `readers`) delivery again while that many readers query the service, vs delivery alone."""
    _log(f"audit: building {events_count} events")
    events = await asyncio.to_thread(audit.build_events, events_count)
    bodies = audit.batches_of(events)
    modes = ["floor", "delivery"] + (["delivery_with_readers"] if readers else [])
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
    with audit.postgres_cluster() as cluster_url:
        kinds = ["sqlite"] + (["postgresql"] if cluster_url else [])
        for kind in kinds:
            runs[kind] = {mode: [] for mode in modes}
            for rep in range(reps):
                for mode in modes:
                    _log(f"audit {kind} {mode}: repetition {rep + 1}/{reps}")
                    sample = await audit.measure(
                        kind,
                        mode,
                        events,
                        bodies,
                        workdir=workdir,
                        cluster_url=cluster_url,
                        readers=readers,
                    )
                    runs[kind][mode].append(sample)
    rates = {kind: _median_of(r["delivery"], "events_per_s") for kind, r in runs.items()}
    floors = {kind: _median_of(r["floor"], "events_per_s") for kind, r in runs.items()}
    delivered = [s for r in runs.values() for mode in modes[1:] for s in r[mode]]
    summary: dict[str, Any] = {
        "events": events_count,
        "events_per_s": rates,
        "floor_events_per_s": floors,
        "ratio_to_floor": {kind: ratio(rates[kind], floors[kind]) for kind in rates},
        "lost": sum(s["lost"] for s in delivered),
        "rejected": sum(s["rejected"] for s in delivered),
        "not_exactly_once": sum(s["missing"] + s["duplicated"] for s in delivered),
    }
    if readers:
        summary["with_readers"] = audit.with_readers_summary(runs, rates, readers)
    return {"audit": {**summary, "runs": runs}}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--reps", type=int, default=3, help="repetitions per measurement")
    parser.add_argument("--rss-reps", type=int, default=1, help="repetitions of the RSS runs")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000], help="burst sizes")
    parser.add_argument(
        "--rss-sizes", type=int, nargs="+", default=[1000, 10_000], help="settled WFEs"
    )
    parser.add_argument("--audit-events", type=int, default=30_000, help="events per run")
    parser.add_argument(
        "--audit-readers",
        type=int,
        default=8,
        help="concurrent readers querying the audit service during its load (0: none)",
    )
    parser.add_argument(
        "--only",
        choices=SCENARIOS,
        action="append",
        help="run only these (repeatable); burst and jobs: scenarios 1 and 2 with Tekton WFEs "
        "and with Job WFEs",
    )
    parser.add_argument(
        "--target",
        choices=TARGET_CHOICES,
        default="both",
        help="API server(s) of the create bursts and completion mirrors: the in-process emulator, "
        "a real kube-apiserver started for the run (cluster), or both (default)",
    )
    return parser.parse_args(argv)


def target_names(choice: str) -> list[TargetName]:
    """The targets a `--target` choice names."""
    return [name for name in targets.TARGET_NAMES if choice in (name, "both")]


async def run_all(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Every selected scenario, in one event loop (the emulator lives in it)."""
    chosen = args.only or list(SCENARIOS)
    results: dict[str, Any] = {}
    bursts = [scenario for scenario in lifecycle.SCENARIO_ENGINES if scenario in chosen]
    if bursts:
        names = target_names(args.target)
        results |= await burst_on_targets(names, bursts, args.sizes, args.reps, workdir)
    if "rss" in chosen:
        results |= await rss_scenario(args.rss_sizes, args.rss_reps, workdir)
    if "audit" in chosen:
        results |= await audit_scenario(args.audit_events, args.reps, workdir, args.audit_readers)
    return results


def main(argv: list[str] | None = None) -> int:
    """Run, write the result files, print the table."""
    args = parse_args(argv)
    started = datetime.now(UTC)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kwfe-bench-") as scratch:
        measured = asyncio.run(run_all(args, Path(scratch)))
    results: dict[str, Any] = {
        "commit": git_commit(),
        "started_at": started.isoformat(timespec="seconds"),
        "duration_seconds": time.perf_counter() - began,
        "machine": machine_facts(),
        "repetitions": args.reps,
        "settings": {
            "sizes": args.sizes,
            "targets": target_names(args.target),
            "warm_up_wfes": WARM_UP_WFES,
            "rss_sizes": args.rss_sizes,
            "rss_repetitions": args.rss_reps,
            "audit_events": args.audit_events,
            "audit_readers": args.audit_readers,
            "controller_workers": lifecycle.WORKERS,
            "cooldown": lifecycle.COOLDOWN,
        },
        **measured,
    }
    results["figures"] = figures(results)
    paths = report.write(results, started.strftime("%Y%m%dT%H%M%SZ"))
    print(report.markdown(results))
    _log("wrote " + ", ".join(str(path) for path in paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
