"""The controller's configuration (spec §6): defaults, then a YAML file, then command-line flags.

The file may be written in our spelling or the platform's (`core.config_keys`); both load into
the one model here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from kubernaut_wfe.constants import DataStorageContract
from kubernaut_wfe.core.config_keys import KEY_SPELLINGS, Translation, platform_key, translate
from kubernaut_wfe.core.durations import DurationError, parse_cooldown, parse_duration
from kubernaut_wfe.core.naming import is_namespace_name, is_object_name

DEFAULT_SERVICE_ACCOUNT = "kubernaut-workflow-runner"
"""The runner service account of PipelineRuns unless configured otherwise."""


class ConfigError(ValueError):
    """Invalid configuration; `problems` holds one `<dotted.key>: <message>` line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _not_a_boolean(value: Any) -> Any:
    """YAML's `true` is no number of anything (pydantic would read it as 1)."""
    if isinstance(value, bool):
        raise ValueError(f"{str(value).lower()} is a boolean, not a number or a duration")
    return value


def _duration(value: Any) -> Any:
    _not_a_boolean(value)
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except DurationError as error:
            raise ValueError(str(error)) from None
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f'invalid duration "{value}" (missing unit, e.g. "{value}s")')
    return value


def _cooldown(value: Any) -> Any:
    _not_a_boolean(value)
    if isinstance(value, float):
        raise ValueError(
            f'{value} is not a whole number of minutes: write a duration such as "90s"'
        )
    if isinstance(value, str | int):
        try:
            return parse_cooldown(value)
        except DurationError as error:
            raise ValueError(str(error)) from None
    return value


def _namespace_name(value: str) -> str:
    if not is_namespace_name(value):
        raise ValueError(f"{value!r} is not a namespace name (DNS-1123 label, at most 63)")
    return value


def _object_name(value: str) -> str:
    if not is_object_name(value):
        raise ValueError(
            f"{value!r} is not a Kubernetes object name (DNS-1123 subdomain, at most 253)"
        )
    return value


def base_url_problem(url: str) -> str | None:
    """Why `url` is not a base URL the clients can join paths to (a host, a valid port,
    nothing after the path); None when it is one."""
    if any(character.isspace() or not character.isprintable() for character in url):
        return f"{url!r} holds spaces or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        return f"{url!r} is not a URL: {error}"
    if not parts.hostname:
        return f"{url!r} has no host"
    if port == 0:
        return f"{url!r} has port 0"
    if "?" in url or "#" in url:
        return f"{url!r} has a query or a fragment (a base URL has neither)"
    return None


MIN_JOB_ACTIVE_DEADLINE = timedelta(seconds=1)
"""The shortest `activeDeadlineSeconds` a Job can be given."""
MIN_WATCH_TIMEOUT = timedelta(seconds=1)
"""The shortest watch timeout the API server can be given (it counts whole seconds)."""

_LONGER_TIMING = {
    "leader_election_renew_deadline": "leader_election_lease_duration",
    "leader_election_retry_period": "leader_election_renew_deadline",
}
"""Client-go's order of the leader-election timings: each key is shorter than its value."""


def _seconds(value: timedelta) -> str:
    """`10s`, `0.5s`, `300s`: exact, unlike Go's rounded text."""
    return f"{Decimal(str(value.total_seconds())).normalize():f}s"


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be greater than zero")
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class ExecutionSettings(_Section):
    namespace: str = Field(default="kubernaut-workflows", min_length=1, max_length=63)
    """Namespace where PipelineRuns are created (never the WFE's namespace)."""
    service_account: str = Field(default=DEFAULT_SERVICE_ACCOUNT, min_length=1, max_length=253)
    """Runner service account of every PipelineRun unless the WFE names an allowed one."""
    allowed_service_accounts: tuple[str, ...] = ()
    """Further runner service accounts a WFE may request; the default one is always allowed.
    Empty: a catalog snapshot may name any ServiceAccount of the execution namespace."""
    cooldown_period: timedelta = timedelta(minutes=5)
    """How long a finished run keeps its target locked (a bare integer means minutes)."""
    resync_period: timedelta = timedelta(seconds=10)
    """Periodic safety re-check of Running WFEs."""
    max_create_attempts: int = Field(default=3, ge=1, le=100)
    """Attempts at creating a PipelineRun on transient errors (5xx, 429) before the WFE fails."""
    _whole_attempts = field_validator("max_create_attempts", mode="before")(_not_a_boolean)
    deleting_run_backoff: timedelta = timedelta(seconds=5)
    """Re-check interval while an old PipelineRun on the target is still being deleted."""
    max_run_timeout: timedelta = timedelta(hours=24)
    """Longest run: the bound of `executionConfig.timeout`, and the cap of a far `timesOutAt`."""
    job_active_deadline: timedelta = timedelta(minutes=30)
    """How long a Job may run when its WFE sets no deadline (neither `spec.timesOutAt` nor
    `executionConfig.timeout`): the Job's `activeDeadlineSeconds`, in whole seconds (at least
    1s), never more than `max_run_timeout`. A PipelineRun without a deadline gets Tekton's
    default instead."""

    _parse_durations = field_validator(
        "resync_period",
        "deleting_run_backoff",
        "max_run_timeout",
        "job_active_deadline",
        mode="before",
    )(_duration)
    _parse_cooldown = field_validator("cooldown_period", mode="before")(_cooldown)

    _must_be_positive = field_validator("resync_period", "deleting_run_backoff", "max_run_timeout")(
        _positive
    )

    @field_validator("job_active_deadline")
    @classmethod
    def _a_whole_second_at_least(cls, value: timedelta) -> timedelta:
        # activeDeadlineSeconds counts whole seconds and must be at least 1.
        if value < MIN_JOB_ACTIVE_DEADLINE:
            raise ValueError(f"must be at least {_seconds(MIN_JOB_ACTIVE_DEADLINE)}")
        return value

    @field_validator("namespace")
    @classmethod
    def _a_namespace(cls, value: str) -> str:
        return _namespace_name(value)

    @field_validator("service_account")
    @classmethod
    def _an_account(cls, value: str) -> str:
        return _object_name(value)

    @field_validator("allowed_service_accounts")
    @classmethod
    def _accounts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_object_name(name) for name in value)

    @field_validator("cooldown_period")
    @classmethod
    def _not_negative(cls, value: timedelta) -> timedelta:
        if value < timedelta(0):
            raise ValueError("must not be negative")
        return value


class AuditSettings(_Section):
    datastorage_url: str = Field(default="http://datastorage-service:8080", pattern=r"^https?://")
    """Base URL of the DataStorage service."""
    datastorage_health_url: str | None = Field(default=None, pattern=r"^https?://")
    """URL readiness probes DataStorage at (any 2xx: reachable); unset: `<datastorage_url>/health`,
    which must answer DataStorage's own `{"status": "healthy"}`."""
    require_datastorage_for_readiness: bool = False
    """Whether `/readyz` fails while DataStorage is unreachable (the platform's fail-closed gate);
    reconciling never waits for DataStorage either way."""
    timeout: timedelta = timedelta(seconds=10)
    """Timeout of one request to DataStorage."""
    buffer_size: int = Field(default=50000, ge=1)
    """Maximum audit events buffered in memory."""
    batch_size: int = Field(default=1000, ge=1, le=1000)
    """Maximum events per batch request (the API accepts at most 1000)."""
    flush_interval: timedelta = timedelta(seconds=1)
    """How often the buffer is flushed."""
    max_retries: int = Field(default=3, ge=0)
    """Retries of a failed batch in a row; then it goes to the back of the queue and is tried
    again later with backoff (never dropped), so other batches are not held behind it."""
    ca_file: str | None = None
    """CA bundle for TLS to DataStorage; re-read when it changes."""
    token_file: str | None = None
    """Bearer token file for DataStorage; re-read when it changes (projected tokens rotate)."""
    shutdown_flush_timeout: timedelta = timedelta(seconds=10)
    """Bound on flushing the buffer at shutdown."""
    deletion_delivery_timeout: timedelta = timedelta(seconds=5)
    """Bound on waiting for the "deleted while running" event before the finalizer goes."""
    datastorage_contract: DataStorageContract = DataStorageContract.AUGUST_2026
    """The DataStorage API the events follow: 2026-08 (newest), or 2026-01 for a January one."""

    _parse_durations = field_validator(
        "timeout",
        "flush_interval",
        "shutdown_flush_timeout",
        "deletion_delivery_timeout",
        mode="before",
    )(_duration)

    _must_be_positive = field_validator(
        "timeout", "flush_interval", "shutdown_flush_timeout", "deletion_delivery_timeout"
    )(_positive)

    _whole_sizes = field_validator("buffer_size", "batch_size", "max_retries", mode="before")(
        _not_a_boolean
    )

    @field_validator("datastorage_url", "datastorage_health_url")
    @classmethod
    def _a_base_url(cls, value: str | None) -> str | None:
        if value is not None and (problem := base_url_problem(value)) is not None:
            raise ValueError(problem)
        return value


class ControllerSettings(_Section):
    metrics_addr: str = ":9090"
    """Bind address of the Prometheus metrics endpoint."""
    health_probe_addr: str = ":8081"
    """Bind address of `/healthz` and `/readyz`."""
    leader_election: bool = False
    """Whether to hold a Lease before reconciling."""
    leader_election_id: str = Field(default="workflowexecution.kubernaut.ai", min_length=1)
    """Name of the Lease."""
    leader_election_namespace: str | None = None
    """Namespace of the Lease; unset means the controller's own ($POD_NAMESPACE, else the
    kubeconfig's)."""
    leader_election_lease_duration: timedelta = timedelta(seconds=15)
    """How long a Lease stays valid without renewal (a standby takes over after it)."""
    # A default is checked too: it may not fit a longer timing that was changed.
    leader_election_renew_deadline: timedelta = Field(
        default=timedelta(seconds=10), validate_default=True
    )
    """How long the leader retries renewing before it gives up (shorter than the lease)."""
    leader_election_retry_period: timedelta = Field(
        default=timedelta(seconds=2), validate_default=True
    )
    """Interval of acquire and renew attempts (shorter than the renew deadline)."""
    watch_timeout: timedelta = timedelta(minutes=5)
    """Server-side timeout of each watch request: a watch silently lost in the network ends
    after it, and `/healthz` fails once no watch stream has been open for it plus a grace."""
    namespaces: tuple[str, ...] = ()
    """Namespaces to watch for WFEs; empty means all."""

    _parse_durations = field_validator(
        "leader_election_lease_duration",
        "leader_election_renew_deadline",
        "leader_election_retry_period",
        "watch_timeout",
        mode="before",
    )(_duration)

    _must_be_positive = field_validator("leader_election_lease_duration")(_positive)

    @field_validator("watch_timeout")
    @classmethod
    def _at_least_a_second(cls, value: timedelta) -> timedelta:
        # The API server takes a watch timeout in whole seconds, and 0 means its own default
        # (30 to 60 minutes), long past the moment `/healthz` would call the watch dead.
        if value < MIN_WATCH_TIMEOUT:
            raise ValueError(f"must be at least {_seconds(MIN_WATCH_TIMEOUT)}")
        return value

    @field_validator("leader_election_renew_deadline", "leader_election_retry_period")
    @classmethod
    def _shorter_than_the_next(cls, value: timedelta, info: ValidationInfo) -> timedelta:
        """Positive and, with leader election, shorter than the timing it must fit in
        (checked only when that one is valid itself: one problem is reported, not two)."""
        _positive(value)
        assert info.field_name is not None
        longer_key = _LONGER_TIMING[info.field_name]
        longer = info.data.get(longer_key)
        if info.data.get("leader_election") and longer is not None and value >= longer:
            raise ValueError(
                f"{_seconds(value)} must be shorter than controller.{longer_key} "
                f"({_seconds(longer)})"
            )
        return value

    @field_validator("leader_election_id")
    @classmethod
    def _a_lease_name(cls, value: str) -> str:
        return _object_name(value)

    @field_validator("leader_election_namespace")
    @classmethod
    def _a_lease_namespace(cls, value: str | None) -> str | None:
        return None if value is None else _namespace_name(value)

    @field_validator("namespaces")
    @classmethod
    def _namespaces(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_namespace_name(name) for name in value)


class LogLevel(StrEnum):
    """`logging.level`: the lowest level logged."""

    DEBUG = "DEBUG"
    INFO = "INFO"
    WARN = "WARN"
    ERROR = "ERROR"


class LogFormat(StrEnum):
    """`logging.format` (and `--log-format`)."""

    JSON = "json"
    TEXT = "text"
    """key=value lines; the platform calls it `console`."""


_LEVEL_ALIASES = {"WARNING": LogLevel.WARN}
_FORMAT_ALIASES = {"console": LogFormat.TEXT}


class LoggingSettings(_Section):
    level: LogLevel = LogLevel.INFO
    """DEBUG, INFO, WARN (or WARNING) or ERROR, in any case; a change to the file applies at
    once."""
    format: LogFormat = LogFormat.JSON
    """`json`, or `text` (the platform's `console`): key=value lines."""

    @field_validator("level", mode="before")
    @classmethod
    def _any_case(cls, value: Any) -> Any:
        if isinstance(value, str):
            upper = value.upper()
            return _LEVEL_ALIASES.get(upper, upper)
        return value

    @field_validator("format", mode="before")
    @classmethod
    def _console_is_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            lower = value.lower()
            return _FORMAT_ALIASES.get(lower, lower)
        return value


class ControllerConfig(_Section):
    """The whole configuration tree."""

    execution: ExecutionSettings = Field(default_factory=ExecutionSettings)
    """PipelineRun creation and locking."""
    audit: AuditSettings = Field(default_factory=AuditSettings)
    """Delivery of the audit trail to DataStorage."""
    controller: ControllerSettings = Field(default_factory=ControllerSettings)
    """Process-level settings."""
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    """The log's level and format."""


@dataclass(frozen=True)
class KeyNames:
    """How to name our keys to the user: as the file wrote them; a key it did not write in the
    file's spelling (the platform's when it used any key only the platform spells so)."""

    written: Mapping[str, str]
    platform_spelling: bool

    def __call__(self, ours: str) -> str:
        if (written := self.written.get(ours)) is not None:
            return written
        return platform_key(ours) if self.platform_spelling else ours


@dataclass(frozen=True)
class LoadedConfig:
    """A configuration, how its file named its keys, and the file's values the flags replaced."""

    config: ControllerConfig
    names: KeyNames
    replaced_by_flags: Mapping[str, Any]
    """Our dotted key → the value the file gave it, for each key a flag set."""


_ALL_KEYS = sorted((entry.ours for entry in KEY_SPELLINGS), key=len, reverse=True)
_KEY_IN_TEXT = re.compile(r"(?<![\w.])(?:" + "|".join(map(re.escape, _ALL_KEYS)) + r")(?![\w.])")
_URL_KEYS = frozenset({"audit.datastorage_url", "audit.datastorage_health_url"})


def _problems(error: ValidationError, names: KeyNames) -> list[str]:
    lines = []
    for detail in error.errors():
        location = [str(part) for part in detail["loc"]]
        if len(location) > 1:
            location = [names(".".join(location[:2])), *location[2:]]
        message = detail["msg"].removeprefix("Value error, ")
        if detail["type"] == "extra_forbidden":
            message = "unknown setting"
        message = _KEY_IN_TEXT.sub(lambda found: names(found.group(0)), message)
        lines.append(f"{'.'.join(location) or '<root>'}: {message}")
    return lines


def read_config(
    yaml_text: str | None = None, overrides: Mapping[str, Any] | None = None
) -> LoadedConfig:
    """Build the configuration: defaults, then the YAML document (in either spelling), then
    flag `overrides`.

    `overrides` maps our dotted keys (`execution.cooldown_period`) to values; `None` values mean
    the flag was not given. Raises `ConfigError` naming every bad key as the file wrote it.
    """
    translation = Translation()
    if yaml_text is not None and yaml_text.strip():
        try:
            loaded = yaml.safe_load(yaml_text)
        except yaml.YAMLError as error:
            raise ConfigError([f"<config file>: not valid YAML: {error}"]) from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(["<config file>: must be a mapping of sections"])
        translation = translate(loaded or {})
    replaced: dict[str, Any] = {}
    for dotted_key, value in (overrides or {}).items():
        if value is None:
            continue
        section, leaf = dotted_key.split(".")
        if leaf in translation.tree.get(section, {}):
            replaced[dotted_key] = translation.tree[section][leaf]
        translation.put(dotted_key, value)
        translation.written[dotted_key] = dotted_key
    names = KeyNames(translation.written, translation.platform_spelling)
    try:
        config = ControllerConfig.model_validate(translation.tree)
    except ValidationError as error:
        raise ConfigError(translation.problems + _problems(error, names)) from None
    if translation.problems:
        raise ConfigError(translation.problems)
    return LoadedConfig(config, names, replaced)


def load_config(
    yaml_text: str | None = None, overrides: Mapping[str, Any] | None = None
) -> ControllerConfig:
    """The configuration of `read_config`."""
    return read_config(yaml_text, overrides).config


def effective_settings(config: ControllerConfig) -> dict[str, Any]:
    """Every key (ours, dotted) with the value in effect, as text, numbers, booleans and lists for
    a log line; a URL's user information is left out."""
    settings: dict[str, Any] = {}
    for entry in KEY_SPELLINGS:
        section, leaf = entry.ours.split(".")
        settings[entry.ours] = shown_value(entry.ours, getattr(getattr(config, section), leaf))
    return settings


SHOWN_TEXT_LIMIT = 200
"""A value shown in a log line is cut after this many characters."""


def shown_value(key: str, value: Any) -> Any:
    """`value` of our `key` as a log line shows it (durations in seconds, no URL user info)."""
    if isinstance(value, timedelta):
        return _seconds(value)
    if isinstance(value, tuple | list):
        return [shown_value(key, item) for item in value]
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, str) and key in _URL_KEYS:
        value = without_user_info(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    text = str(value)
    return text if len(text) <= SHOWN_TEXT_LIMIT else text[:SHOWN_TEXT_LIMIT] + "..."


def without_user_info(url: str) -> str:
    """`url` without a `user:password@` part (it may hold a secret)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
