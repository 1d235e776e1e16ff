"""The rows of the results tables (`figures` in the results document): each headline figure
with its baseline from the same run, the ratio, the target and the verdict."""

from __future__ import annotations

from typing import Any

from bench.lifecycle import SCENARIO_ENGINES
from bench.stats import median, ratio

Figure = dict[str, Any]
RSS_LIMITS_MIB = {"wfes_1000": 120, "wfes_10000": 250}


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
        "engine": None,
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
    of scenarios 1 and 2 once per engine (`engine`: `tekton` or `job`) and target (`api`: its
    name), the others with `api` and `engine` None."""
    rows = [
        {**row, "api": name, "engine": engine.name}
        for scenario, engine in SCENARIO_ENGINES.items()
        for name, measured in (results.get(scenario) or {}).items()
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
        rows += _reader_rows(trail)
        rows.append(_figure("audit events lost", trail["lost"], target="0", ok=trail["lost"] == 0))
        if "not_exactly_once" in trail:
            wrong = trail["not_exactly_once"]
            rows.append(
                _figure("audit events not stored exactly once", wrong, target="0", ok=wrong == 0)
            )
    return rows


def _reader_rows(trail: dict[str, Any]) -> list[Figure]:
    """Scenario 4 with readers querying during the load: delivery's throughput against delivery
    alone in the same run, the queries' rate and latency, and the queries that went wrong."""
    readers = trail.get("with_readers")
    if not readers:
        return []
    count, rows = readers["readers"], []
    for kind, rate in readers["events_per_s"].items():
        rows += [
            _figure(
                f"audit events/s while {count} readers query, {kind} (baseline: no readers)",
                rate,
                baseline=trail["events_per_s"][kind],
                target="≥ 5,000",
                ok=rate >= 5000,
            ),
            _figure(f"audit queries/s during the load, {kind}", readers["queries_per_s"][kind]),
            _figure(f"audit query p50 during the load (s), {kind}", readers["p50_seconds"][kind]),
            _figure(f"audit query p99 during the load (s), {kind}", readers["p99_seconds"][kind]),
        ]
    wrong = readers["failed_queries"] + readers["bad_answers"]
    name = f"audit queries failed or answered wrong (of {readers['queries']:,})"
    return [*rows, _figure(name, wrong, target="0", ok=wrong == 0)]
