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

from bench import audit, lifecycle, report, rss, targets
from bench.stats import git_commit, machine_facts, median, ratio
from bench.targets import TargetName

SCENARIOS = ("burst", "rss", "audit")
TARGET_CHOICES = (*targets.TARGET_NAMES, "both")
WARM_UP_WFES = 100
Figure = dict[str, Any]
RSS_LIMITS_MIB = {"wfes_1000": 120, "wfes_10000": 250}


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
    target: targets.Target, sizes: list[int], reps: int, workdir: Path
) -> dict[str, Any]:
    """Scenarios 1 and 2 (and CPU per lifecycle) on one target: per size, `reps` floor and
    controller runs, after one floor burst not counted (a real server is slower the first
    time: caches, connections)."""
    title = report.TITLES[target.name]
    _log(f"{title}: warm-up (a floor burst of {WARM_UP_WFES}, not counted)")
    await lifecycle.floor_burst(target, WARM_UP_WFES, workdir)
    create: dict[str, Any] = {}
    completion: dict[str, Any] = {}
    cpu: dict[str, Any] = {}
    for size in sizes:
        floors, controllers = [], []
        for rep in range(reps):
            _log(f"{title}: create burst {size}: floor, repetition {rep + 1}/{reps}")
            floors.append(await lifecycle.floor_burst(target, size, workdir))
            _log(f"{title}: create burst {size}: controller, repetition {rep + 1}/{reps}")
            controllers.append(await lifecycle.controller_lifecycle(target, size, workdir))
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
    names: list[TargetName], sizes: list[int], reps: int, workdir: Path
) -> dict[str, Any]:
    """`burst_scenarios` on each target, one after the other; a target that cannot run here is
    skipped with its reason (in CI that is a failure)."""
    unavailable = {name: targets.unavailable(name) for name in names}
    for name, reason in unavailable.items():
        if reason is not None and os.environ.get("CI"):
            raise SystemExit(f"bench: {report.TITLES[name]}: {reason}")
    measured: dict[str, Any] = {}
    for name in names:
        reason = unavailable[name]
        if reason is not None:
            _log(f"{report.TITLES[name]}: skipped: {reason}")
            measured[name] = {"skipped": reason}
            continue
        began, server = time.perf_counter(), targets.server_version(name)
        _log(f"{report.TITLES[name]}: starting ({server})")
        async with targets.opened(name, workdir) as target:
            figures = await burst_scenarios(target, sizes, reps, workdir)
        measured[name] = {
            "server": server,
            "duration_seconds": time.perf_counter() - began,
            **figures,
        }
    return {"burst": measured}


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


async def audit_scenario(events_count: int, reps: int, workdir: Path) -> dict[str, Any]:
    """Scenario 4 on SQLite and PostgreSQL, delivery vs the raw batch floor."""
    _log(f"audit: building {events_count} events")
    events = await asyncio.to_thread(audit.build_events, events_count)
    bodies = audit.batches_of(events)
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
    with audit.postgres_cluster() as cluster_url:
        kinds = ["sqlite"] + (["postgresql"] if cluster_url else [])
        for kind in kinds:
            runs[kind] = {"delivery": [], "floor": []}
            for rep in range(reps):
                for mode in ("floor", "delivery"):
                    _log(f"audit {kind} {mode}: repetition {rep + 1}/{reps}")
                    sample = await audit.measure(
                        kind, mode, events, bodies, workdir=workdir, cluster_url=cluster_url
                    )
                    runs[kind][mode].append(sample)
    rates = {kind: _median_of(r["delivery"], "events_per_s") for kind, r in runs.items()}
    floors = {kind: _median_of(r["floor"], "events_per_s") for kind, r in runs.items()}
    return {
        "audit": {
            "events": events_count,
            "events_per_s": rates,
            "floor_events_per_s": floors,
            "ratio_to_floor": {kind: ratio(rates[kind], floors[kind]) for kind in rates},
            "lost": sum(s["lost"] for r in runs.values() for s in r["delivery"]),
            "rejected": sum(s["rejected"] for r in runs.values() for s in r["delivery"]),
            "runs": runs,
        }
    }


def _figure(
    name: str,
    value: float,
    *,
    baseline: float | None = None,
    target: str | None = None,
    ok: bool | None = None,
) -> Figure:
    return {
        "name": name,
        "value": value,
        "baseline": baseline,
        "ratio": None if baseline is None else ratio(value, baseline),
        "target": target,
        "ok": ok,
        "api": None,
    }


def _burst_rows(burst: dict[str, Any]) -> list[Figure]:
    rows = []
    for key in sorted((k for k in burst if k.startswith("wfes_")), key=len):
        entry, size = burst[key], key.removeprefix("wfes_")
        mine, floor = entry["controller"], entry["floor"]
        p99_ratio = ratio(mine["p99_seconds"], floor["p99_seconds"])
        rows += [
            _figure(
                f"create burst {size}: p50 creation→Running (s)",
                mine["p50_seconds"],
                baseline=floor["p50_seconds"],
            ),
            _figure(
                f"create burst {size}: p99 creation→Running (s)",
                mine["p99_seconds"],
                baseline=floor["p99_seconds"],
                target="ratio ≤ 1.5",
                ok=None if p99_ratio is None else p99_ratio <= 1.5,
            ),
            _figure(
                f"create burst {size}: all Running (makespan, s)",
                mine["makespan_seconds"],
                baseline=floor["makespan_seconds"],
            ),
            _figure(
                f"create burst {size}: requests on WFEs+runs per WFE to Running",
                mine["requests_per_wfe"],
                baseline=floor["requests_per_wfe"],
                target="≤ 5",
                ok=mine["requests_per_wfe"] <= 5,
            ),
            _figure(
                f"create burst {size}: … until quiet (with the audit bookkeeping write)",
                mine["requests_per_wfe_until_quiet"],
                baseline=floor["requests_per_wfe_until_quiet"],
            ),
        ]
    return rows


def _api_rows(measured: dict[str, Any]) -> list[Figure]:
    """The rows of scenarios 1 and 2 on one target."""
    rows = _burst_rows(measured.get("create_burst") or {})
    mirror = measured.get("completion_mirror") or {}
    for key in sorted((k for k in mirror if k.startswith("wfes_")), key=len):
        size, p99 = key.removeprefix("wfes_"), mirror[key]["p99_seconds"]
        rows.append(_figure(f"completion mirror {size}: p50 (s)", mirror[key]["p50_seconds"]))
        rows.append(_figure(f"completion mirror {size}: p99 (s)", p99, target="< 1", ok=p99 < 1))
    life = measured.get("lifecycle") or {}
    for key in sorted((k for k in life if k.startswith("wfes_")), key=len):
        size = key.removeprefix("wfes_")
        rows.append(
            _figure(f"lifecycle {size}: controller CPU s per WFE", life[key]["cpu_seconds_per_wfe"])
        )
        rows.append(
            _figure(
                f"lifecycle {size}: requests on WFEs+runs per WFE", life[key]["requests_per_wfe"]
            )
        )
    return rows


def figures(results: dict[str, Any]) -> list[Figure]:
    """The table rows: value, baseline, ratio, target and verdict of each headline figure; those
    of scenarios 1 and 2 once per target (`api`: its name), the others with `api` None."""
    rows = [
        {**row, "api": name}
        for name, measured in (results.get("burst") or {}).items()
        for row in _api_rows(measured)
    ]
    memory = results.get("rss_mib") or {}
    for key in sorted((k for k in memory if k.startswith("wfes_")), key=len):
        name = f"steady RSS, {key.removeprefix('wfes_')} settled WFEs (MiB)"
        limit = RSS_LIMITS_MIB.get(key)
        ok = None if limit is None else memory[key] <= limit
        target = None if limit is None else f"≤ {limit}"
        rows.append(_figure(name, memory[key], target=target, ok=ok))
        runs = memory["runs"][key]
        settled = median([run["settled_after_seconds"] for run in runs])
        size = key.removeprefix("wfes_")
        rows.append(_figure(f"start-up over {size} settled WFEs until idle (s)", settled))
    trail = results.get("audit")
    if trail:
        for kind, rate in trail["events_per_s"].items():
            rows.append(
                _figure(
                    f"audit events/s, {kind}",
                    rate,
                    baseline=trail["floor_events_per_s"][kind],
                    target="≥ 5,000",
                    ok=rate >= 5000,
                )
            )
        rows.append(_figure("audit events lost", trail["lost"], target="0", ok=trail["lost"] == 0))
    return rows


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
        "--only", choices=SCENARIOS, action="append", help="run only these (repeatable)"
    )
    parser.add_argument(
        "--target",
        choices=TARGET_CHOICES,
        default="both",
        help="API server(s) of the create burst and completion mirror: the in-process emulator, "
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
    if "burst" in chosen:
        results |= await burst_on_targets(target_names(args.target), args.sizes, args.reps, workdir)
    if "rss" in chosen:
        results |= await rss_scenario(args.rss_sizes, args.rss_reps, workdir)
    if "audit" in chosen:
        results |= await audit_scenario(args.audit_events, args.reps, workdir)
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
