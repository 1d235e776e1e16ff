"""The Markdown table of a results document, and writing the result files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.stats import REPO_ROOT
from kubernaut_wfe.constants import ExecutionEngine

RESULTS_DIR = REPO_ROOT / "bench" / "results"

TITLES: dict[str, str] = {"emulator": "emulator", "cluster": "real API server"}
"""How each API-server target is named in the report and the log."""
ENGINE_TITLES: dict[str, str] = {
    ExecutionEngine.TEKTON.value: "Tekton WFEs",
    ExecutionEngine.JOB.value: "Job WFEs",
}
"""How the WFEs of each execution engine are named in the log."""
BURST_SECTIONS: dict[str, tuple[str, str]] = {
    "burst": (ExecutionEngine.TEKTON.value, "Create burst and completion mirror, per API server"),
    "jobs": (
        ExecutionEngine.JOB.value,
        "Job engine: create burst and completion mirror, per API server",
    ),
}
"""The results key of scenarios 1 and 2 per engine: the engine, and its table's heading."""


def _number(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _verdict(figure: dict[str, Any]) -> str:
    ok = figure.get("ok")
    return "" if ok is None else ("yes" if ok else "**no**")


def _per_target(results: dict[str, Any], key: str, engine: str) -> list[str]:
    """Scenarios 1 and 2 with `engine`'s WFEs (results under `key`): one group of columns per
    target that ran (measured, its floor from the same server in the same run, ratio, verdict),
    a line on each target."""
    burst: dict[str, Any] = results.get(key) or {}
    if not burst:
        return []
    lines = []
    for name, measured in burst.items():
        if "skipped" in measured:
            lines.append(f"- **{TITLES[name]}**: skipped: {measured['skipped']}")
        elif "failed" in measured:
            reason, spent = measured["failed"].splitlines()[0], measured["duration_seconds"]
            lines.append(f"- **{TITLES[name]}**: **failed** after {spent:.0f} s: {reason}")
        else:
            lines.append(
                f"- **{TITLES[name]}**: {measured['server']}; "
                f"{measured['duration_seconds']:.0f} s for this part"
            )
    ran = [name for name, measured in burst.items() if not {"skipped", "failed"} & set(measured)]
    if not ran:
        return [*lines, ""]
    by_name: dict[str, dict[str, dict[str, Any]]] = {}
    for figure in results["figures"]:
        # results from before the Job rows have no `engine`: they are all Tekton's
        if figure.get("api") in ran and figure.get("engine", ExecutionEngine.TEKTON) == engine:
            by_name.setdefault(figure["name"], {})[figure["api"]] = figure
    header, align = ["figure"], ["---"]
    for name in ran:
        header += [TITLES[name], "floor", "ratio", "ok"]
        align += ["---:", "---:", "---:", "---"]
    lines += ["", _row([*header, "target"]), _row([*align, "---"])]
    for label, cells in by_name.items():
        row = [label]
        for name in ran:
            figure = cells.get(name)
            if figure is None:
                row += ["", "", "", ""]
                continue
            row += [
                _number(figure["value"]),
                _number(figure.get("baseline")),
                _number(figure.get("ratio"), 2),
                _verdict(figure),
            ]
        goal = next((f.get("target") for f in cells.values() if f.get("target")), "")
        lines.append(_row([*row, goal or ""]))
    return [*lines, ""]


def _single(results: dict[str, Any]) -> list[str]:
    """The figures measured on the emulator only (steady RSS, audit throughput)."""
    rows = [figure for figure in results["figures"] if figure.get("api") is None]
    if not rows:
        return []
    lines = [
        _row(["figure", "measured", "baseline (same run)", "ratio", "target", "ok"]),
        _row(["---", "---:", "---:", "---:", "---", "---"]),
    ]
    for figure in rows:
        lines.append(
            _row(
                [
                    figure["name"],
                    _number(figure["value"]),
                    _number(figure.get("baseline")),
                    _number(figure.get("ratio"), 2),
                    figure.get("target") or "",
                    _verdict(figure),
                ]
            )
        )
    return [*lines, ""]


def markdown(results: dict[str, Any]) -> str:
    """The figures as a Markdown document (medians over the repetitions)."""
    machine = results["machine"]
    lines = [
        "# kubernaut-wfe benchmarks",
        "",
        f"Commit `{results['commit']}`, {results['started_at']}, "
        f"{results['duration_seconds']:.0f} s, {results['repetitions']} repetitions "
        "(medians shown).  ",
        f"{machine['cpu_count']} × {machine['cpu_model']}, {machine['memory_mib']:,} MiB, "
        f"Python {machine['python']}.",
        "",
    ]
    for key, (engine, heading) in BURST_SECTIONS.items():
        per_target = _per_target(results, key, engine)
        if per_target:
            lines += [
                f"## {heading}",
                "",
                "Each `floor` is measured against the same server in the same run.",
                "",
                *per_target,
            ]
    single = _single(results)
    if single:
        lines += ["## Steady RSS and audit throughput (emulator)", "", *single]
    lines += ["Baselines: see bench/README.md. Raw samples are in the JSON file.", ""]
    return "\n".join(lines)


def write(results: dict[str, Any], stamp: str) -> list[Path]:
    """`<stamp>.json|.md` plus `latest.json|.md` in bench/results/."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    document = json.dumps(results, indent=1, sort_keys=False) + "\n"
    table = markdown(results)
    written = []
    for base in (stamp, "latest"):
        json_path, md_path = RESULTS_DIR / f"{base}.json", RESULTS_DIR / f"{base}.md"
        json_path.write_text(document, encoding="utf-8")
        md_path.write_text(table, encoding="utf-8")
        written += [json_path, md_path]
    return written
