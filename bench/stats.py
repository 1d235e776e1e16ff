"""Small statistics and machine facts for the benchmark report."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


def percentile(samples: list[float], fraction: float) -> float:
    """The `fraction` quantile (0..1) by linear interpolation; 0.0 for no samples."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: list[float]) -> float:
    """The median, 0.0 for no values."""
    return statistics.median(values) if values else 0.0


def ratio(value: float, baseline: float) -> float | None:
    """value / baseline, None when the baseline is not positive."""
    return value / baseline if baseline > 0 else None


def git_commit() -> str:
    """The HEAD commit, with `-dirty` when the work tree has changes."""

    def git(*args: str) -> str:
        result = subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=False
        )
        return result.stdout.strip()

    commit = git("rev-parse", "HEAD") or "unknown"
    return f"{commit}-dirty" if git("status", "--porcelain", "--untracked-files=no") else commit


def machine_facts() -> dict[str, Any]:
    """CPU count and model, memory, Python and OS, for reading the figures in context."""
    model = ""
    for line in _read_lines("/proc/cpuinfo"):
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    memory_kib = 0
    for line in _read_lines("/proc/meminfo"):
        if line.startswith("MemTotal:"):
            memory_kib = int(line.split()[1])
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "memory_mib": memory_kib // 1024,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _read_lines(path: str) -> list[str]:
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
