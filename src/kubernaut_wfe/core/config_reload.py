"""What a changed configuration file changes in a running controller: `logging.level` at once,
anything else only after a restart."""

from __future__ import annotations

from dataclasses import dataclass

from kubernaut_wfe.core.config import (
    ControllerConfig,
    KeyNames,
    LogLevel,
    effective_settings,
)

HOT_KEYS = frozenset({"logging.level"})
"""Keys a running controller applies when the file changes."""


@dataclass(frozen=True)
class ReloadPlan:
    """The new log level to apply (None: unchanged), and the keys that need a restart, named
    as the file writes them."""

    level: LogLevel | None
    restart_needed: tuple[str, ...]


def reload_plan(running: ControllerConfig, loaded: ControllerConfig, names: KeyNames) -> ReloadPlan:
    """Compare the settings in effect with a file just read."""
    before, after = effective_settings(running), effective_settings(loaded)
    changed = [key for key, value in after.items() if before[key] != value]
    level = loaded.logging.level if "logging.level" in changed else None
    return ReloadPlan(level, tuple(names(key) for key in changed if key not in HOT_KEYS))


def running_after(running: ControllerConfig, plan: ReloadPlan) -> ControllerConfig:
    """The settings in effect once `plan` is applied (only the hot keys change)."""
    if plan.level is None:
        return running
    logging = running.logging.model_copy(update={"level": plan.level})
    return running.model_copy(update={"logging": logging})
