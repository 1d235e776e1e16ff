"""The Markdown table of a results document, and writing the result files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.stats import REPO_ROOT

RESULTS_DIR = REPO_ROOT / "bench" / "results"


def _number(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


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
        _row(["figure", "measured", "baseline (same run)", "ratio", "target", "ok"]),
        _row(["---", "---:", "---:", "---:", "---", "---"]),
    ]
    for figure in results["figures"]:
        ok = figure.get("ok")
        lines.append(
            _row(
                [
                    figure["name"],
                    _number(figure["value"]),
                    _number(figure.get("baseline")),
                    _number(figure.get("ratio"), 2),
                    figure.get("target") or "",
                    "" if ok is None else ("yes" if ok else "**no**"),
                ]
            )
        )
    lines += ["", "Baselines: see bench/README.md. Raw samples are in the JSON file.", ""]
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
