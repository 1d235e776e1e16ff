"""The two spellings of the configuration file: ours (snake_case, sections `execution`, `audit`,
`controller`, `logging`) and the platform's (camelCase, `datastorage` in place of `audit`; platform
contract 2026-08 §8). `KEY_SPELLINGS` is the one mapping table: the loader, the docs table, the
chart and the tests all follow it. Our keys the platform has no key for get a camelCase spelling
in its layout, so that a file can be written wholly in either spelling.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class KeySpelling:
    """One setting: its key in our spelling and in the platform's."""

    ours: str
    """Dotted snake_case key (a field of `ControllerConfig`)."""
    platform: str
    """Dotted camelCase key."""
    upstream: bool
    """True when the platform's own config file has this key (else it is ours, in its layout)."""


def _spell(ours: str, platform: str, *, upstream: bool = False) -> KeySpelling:
    return KeySpelling(ours, platform, upstream)


KEY_SPELLINGS: tuple[KeySpelling, ...] = (
    _spell("execution.namespace", "execution.namespace", upstream=True),
    _spell("execution.service_account", "execution.serviceAccount"),
    _spell("execution.allowed_service_accounts", "execution.allowedServiceAccounts"),
    _spell("execution.cooldown_period", "execution.cooldownPeriod", upstream=True),
    _spell("execution.resync_period", "execution.resyncPeriod"),
    _spell("execution.max_create_attempts", "execution.maxCreateAttempts"),
    _spell("execution.deleting_run_backoff", "execution.deletingRunBackoff"),
    _spell("execution.max_run_timeout", "execution.maxRunTimeout"),
    _spell("execution.job_active_deadline", "execution.jobActiveDeadline"),
    _spell("audit.datastorage_url", "datastorage.url", upstream=True),
    _spell("audit.datastorage_health_url", "datastorage.healthUrl", upstream=True),
    _spell("audit.timeout", "datastorage.timeout", upstream=True),
    _spell("audit.buffer_size", "datastorage.buffer.bufferSize", upstream=True),
    _spell("audit.batch_size", "datastorage.buffer.batchSize", upstream=True),
    _spell("audit.flush_interval", "datastorage.buffer.flushInterval", upstream=True),
    _spell("audit.max_retries", "datastorage.buffer.maxRetries", upstream=True),
    _spell("audit.require_datastorage_for_readiness", "datastorage.requireForReadiness"),
    _spell("audit.ca_file", "datastorage.caFile"),
    _spell("audit.token_file", "datastorage.tokenFile"),
    _spell("audit.shutdown_flush_timeout", "datastorage.shutdownFlushTimeout"),
    _spell("audit.deletion_delivery_timeout", "datastorage.deletionDeliveryTimeout"),
    _spell("audit.datastorage_contract", "datastorage.contract"),
    _spell("controller.metrics_addr", "controller.metricsAddr", upstream=True),
    _spell("controller.health_probe_addr", "controller.healthProbeAddr", upstream=True),
    _spell("controller.leader_election", "controller.leaderElection", upstream=True),
    _spell("controller.leader_election_id", "controller.leaderElectionId", upstream=True),
    _spell("controller.leader_election_namespace", "controller.leaderElectionNamespace"),
    _spell("controller.leader_election_lease_duration", "controller.leaderElectionLeaseDuration"),
    _spell("controller.leader_election_renew_deadline", "controller.leaderElectionRenewDeadline"),
    _spell("controller.leader_election_retry_period", "controller.leaderElectionRetryPeriod"),
    _spell("controller.watch_timeout", "controller.watchTimeout"),
    _spell("controller.namespaces", "controller.namespaces"),
    _spell("logging.level", "logging.level", upstream=True),
    _spell("logging.format", "logging.format", upstream=True),
)

TEKTON_ENABLED = "tekton.enabled"
"""The platform's switch of its Tekton engine: `true` (or absent) is all this controller runs."""

UNSUPPORTED_PLATFORM_KEYS: Mapping[str, str] = {
    "ansible": "the Ansible (AWX) engine is not part of this controller; remove the section",
    "fleet": "remote clusters (the fleet gateway) are not supported by this controller; remove "
    "the section",
    "tlsProfile": "TLS profiles are not supported: the metrics and probe endpoints serve plain "
    "HTTP; remove the key",
    TEKTON_ENABLED: "only true is supported: this controller always runs both of its engines "
    "(tekton and job); remove the key",
}
"""Platform keys this controller does not implement, and why (refused naming the key)."""

_Path = tuple[str, ...]
_LEAVES: dict[_Path, str] = {
    tuple(spelling.split(".")): entry.ours
    for entry in KEY_SPELLINGS
    for spelling in (entry.ours, entry.platform)
}
_SECTIONS: frozenset[_Path] = frozenset(
    path[:depth] for path in (*_LEAVES, ("tekton", "enabled")) for depth in range(1, len(path))
)
_BY_OURS: dict[str, KeySpelling] = {entry.ours: entry for entry in KEY_SPELLINGS}


def platform_key(ours: str) -> str:
    """The platform spelling of one of our keys (the key itself when it has none)."""
    entry = _BY_OURS.get(ours)
    return entry.platform if entry else ours


@dataclass
class Translation:
    """A config document in our spelling, and how its keys were written."""

    tree: dict[str, Any] = field(default_factory=dict)
    """Our sections and keys (values as written: the model validates them)."""
    written: dict[str, str] = field(default_factory=dict)
    """Our dotted key → the dotted key as the document wrote it."""
    problems: list[str] = field(default_factory=list)
    """Keys refused before validation: unknown, unsupported, given twice, sections that are no
    mapping; one `<dotted.key>: <message>` line each."""

    @property
    def platform_spelling(self) -> bool:
        """Whether the document wrote any key in a spelling only the platform uses."""
        return any(ours != written for ours, written in self.written.items())

    def put(self, ours: str, value: Any) -> None:
        """Set our dotted key `ours` to `value` in the tree."""
        section, leaf = ours.split(".")
        self.tree.setdefault(section, {})[leaf] = value


def translate(document: Mapping[Any, Any]) -> Translation:
    """Map a loaded config document, in either spelling or a mix of both, onto our keys."""
    translation = Translation()
    _walk(document, (), translation)
    return translation


def _walk(node: Mapping[Any, Any], prefix: _Path, into: Translation) -> None:
    for key, value in node.items():
        if not isinstance(key, str):
            into.problems.append(f"{'.'.join((*prefix, str(key)))}: Keys should be strings")
            continue
        path = (*prefix, key)
        dotted = ".".join(path)
        if (ours := _LEAVES.get(path)) is not None:
            if (first := into.written.get(ours)) is not None:
                into.problems.append(f"{dotted}: the same setting as {first}; give it once")
                continue
            into.written[ours] = dotted
            into.put(ours, value)
        elif dotted == TEKTON_ENABLED:
            if value is not True:
                into.problems.append(f"{dotted}: {UNSUPPORTED_PLATFORM_KEYS[dotted]}")
        elif dotted in UNSUPPORTED_PLATFORM_KEYS:
            into.problems.append(f"{dotted}: {UNSUPPORTED_PLATFORM_KEYS[dotted]}")
        elif path in _SECTIONS:
            if isinstance(value, Mapping):
                _walk(value, path, into)
            else:
                into.problems.append(f"{dotted}: Input should be a valid dictionary")
        else:
            into.problems.append(f"{dotted}: unknown setting")
