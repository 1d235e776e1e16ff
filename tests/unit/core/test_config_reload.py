"""What a changed config file changes in a running controller: the log level at once, anything
else only after a restart, named as the file writes it."""

from __future__ import annotations

from kubernaut_wfe.core.config import LogLevel, load_config, read_config
from kubernaut_wfe.core.config_reload import reload_plan, running_after

RUNNING = load_config("execution: {cooldownPeriod: 5m}\nlogging: {level: INFO}\n")


def test_a_new_log_level_applies_at_once() -> None:
    loaded = read_config("execution: {cooldownPeriod: 5m}\nlogging: {level: debug}\n")
    plan = reload_plan(RUNNING, loaded.config, loaded.names)
    assert (plan.level, plan.restart_needed) == (LogLevel.DEBUG, ())
    assert running_after(RUNNING, plan).logging.level is LogLevel.DEBUG


def test_other_changes_need_a_restart_and_are_named_as_written() -> None:
    loaded = read_config(
        "execution: {cooldownPeriod: 1m}\ndatastorage: {buffer: {maxRetries: 5}}\n"
        "logging: {level: ERROR}\n"
    )
    plan = reload_plan(RUNNING, loaded.config, loaded.names)
    assert plan.level is LogLevel.ERROR
    assert plan.restart_needed == ("execution.cooldownPeriod", "datastorage.buffer.maxRetries")
    after = running_after(RUNNING, plan)
    assert after.execution.cooldown_period == RUNNING.execution.cooldown_period
    assert after.audit.max_retries == RUNNING.audit.max_retries


def test_an_unchanged_setting_plans_nothing() -> None:
    loaded = read_config("# a comment\nexecution: {cooldown_period: 5m}\n")
    plan = reload_plan(RUNNING, loaded.config, loaded.names)
    assert (plan.level, plan.restart_needed) == (None, ())
    assert running_after(RUNNING, plan) is RUNNING
