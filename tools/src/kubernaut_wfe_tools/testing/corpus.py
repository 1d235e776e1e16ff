"""The hostile-input corpus of `tests/corpus/`, each case with the outcome it must get:
WorkflowExecution specs (refused by the API server at a field, failed by the controller, or
admitted), status written by someone else (`StatusOutcome`), settings of `kubernaut-wfe run`
(its exit code and error), kubeconfigs whose server it reaches for (`ReachCase`: stop, or wait
NotReady) and requests to the audit service (its HTTP status)."""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

import yaml

REPO_ROOT = Path(__file__).resolve().parents[4]
CORPUS_DIR = REPO_ROOT / "tests" / "corpus"
BASE_WFE = REPO_ROOT / "examples" / "hello-world.yaml"


def apply_changes(document: dict[str, Any], changes: Mapping[str, Any]) -> None:
    """Set each dotted path of `changes` in `document` (missing parents are made), or remove it
    where the value is None."""
    for dotted, value in changes.items():
        node = document
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        if value is None:
            node.pop(leaf, None)
        else:
            node[leaf] = value


@dataclass(frozen=True)
class SpecCase:
    """One case of `wfe_specs.yaml`."""

    name: str
    changes: dict[str, Any]
    refused_at: str | None = None
    controller: str | None = None
    admitted: bool = False
    run_fails: str | None = None
    """Admitted and run: the run's outcome fails the WFE with this reason (learned at runtime)."""

    def document(self, name: str | None = None, namespace: str = "default") -> dict[str, Any]:
        """The base WFE with this case's changes, named `name` (the case's name unless given)
        with a correlation id of its own unless the case sets one."""
        document: dict[str, Any] = copy.deepcopy(
            yaml.safe_load(BASE_WFE.read_text(encoding="utf-8"))
        )
        wfe_name = name or self.name
        document["metadata"] = {"name": wfe_name, "namespace": namespace}
        document["spec"]["remediationRequestRef"] = {"name": f"rr-{wfe_name}"}
        document["spec"]["targetResource"] = f"{namespace}/deployment/{wfe_name}"
        apply_changes(document["spec"], self.changes)
        return document


def spec_cases() -> list[SpecCase]:
    """Every case of `tests/corpus/wfe_specs.yaml`, each checked to name exactly one outcome."""
    raw = yaml.safe_load((CORPUS_DIR / "wfe_specs.yaml").read_text(encoding="utf-8"))
    cases = []
    for entry in raw:
        case = SpecCase(
            name=entry["name"],
            changes=entry["set"],
            refused_at=entry.get("refused_at"),
            controller=entry.get("controller"),
            admitted=bool(entry.get("admitted", False)),
            run_fails=entry.get("run_fails"),
        )
        outcomes = [
            case.refused_at is not None,
            case.controller is not None,
            case.admitted,
            case.run_fails is not None,
        ]
        if sum(outcomes) != 1:
            raise ValueError(f"corpus case {case.name} must name exactly one outcome")
        cases.append(case)
    return cases


class StatusOutcome(StrEnum):
    """What a status written by someone else must lead to (`status_writes.yaml`)."""

    REFUSED = "refused"
    """The API server refuses the write."""
    REBUILT = "rebuilt"
    """Rebuilt from the run (a StatusRebuilt Event), which is followed to its end: one run."""
    STOPPED = "stopped"
    """The run is cancelled; the WFE stays Failed, gets a completionTime; the lock is released."""
    NOT_RUN_AGAIN = "not-run-again"
    """The WFE fails saying its run is gone and the workflow is not run again."""
    COMPLETES = "completes"
    """The run's end is mirrored and every audit event is stored once."""
    KEPT = "kept"
    """The WFE ends as it had ended (Completed, with a completionTime); nothing runs."""


class WriteStage(StrEnum):
    """When the write is made."""

    RUNNING = "running"
    RELEASED = "released"


@dataclass(frozen=True)
class StatusCase:
    """One case of `status_writes.yaml`."""

    name: str
    when: WriteStage
    merge: dict[str, Any] | None
    replace: dict[str, Any] | None
    outcome: StatusOutcome

    def written(self, current: dict[str, Any]) -> dict[str, Any]:
        """The status after the write, given the stored one."""
        if self.replace is not None:
            return copy.deepcopy(self.replace)
        status = copy.deepcopy(current)
        apply_changes(status, self.merge or {})
        return status


def status_cases() -> list[StatusCase]:
    """Every case of `tests/corpus/status_writes.yaml`, each with exactly one kind of write."""
    raw = yaml.safe_load((CORPUS_DIR / "status_writes.yaml").read_text(encoding="utf-8"))
    cases = []
    for entry in raw:
        write = entry["write"]
        if len(write) != 1 or not set(write) <= {"merge", "replace"}:
            raise ValueError(f"corpus case {entry['name']} must write one merge or replace")
        cases.append(
            StatusCase(
                name=entry["name"],
                when=WriteStage(entry["when"]),
                merge=write.get("merge"),
                replace=write.get("replace"),
                outcome=StatusOutcome(entry["outcome"]),
            )
        )
    return cases


TMP: Final = "{tmp}"
"""Stands for a settings case's own empty directory in its flags, files and `says`."""
MINIMAL_KUBECONFIG: Final = "apiVersion: v1\nkind: Config\n"
"""The kubeconfig of a settings case that gives none: it names no context, so a start that gets
past every setting stops at it (and never talks to an API server)."""
_SETTINGS_KEYS: Final = {
    "name", "flags", "config", "config_text", "kubeconfig_text", "files", "exits", "says",
}  # fmt: skip
_PROBE_ADDRESSES: Final = (
    ("--metrics-bind-address", ("metrics_addr", "metricsAddr")),
    ("--health-probe-bind-address", ("health_probe_addr", "healthProbeAddr")),
)
"""Each probe address's flag, and its keys in the `controller` section (both spellings)."""


def _file_content(case: str, key: str, value: Any) -> str | bytes:
    """A file of a settings case: text (`{tmp}` replaced when written), bytes (`!!binary`), or
    `{nested_lists: N}`, a YAML document of N nested flow lists."""
    if isinstance(value, str | bytes):
        return value
    if isinstance(value, dict) and set(value) == {"nested_lists"}:
        depth = value["nested_lists"]
        if isinstance(depth, int) and depth > 0:
            return "a: " + "[" * depth + "]" * depth + "\n"
    raise ValueError(f"corpus case {case}: {key} must be text, !!binary or {{nested_lists: N}}")


@dataclass(frozen=True)
class SettingsCase:
    """One case of `settings.yaml`: a start of `kubernaut-wfe run` that must stop at once."""

    name: str
    flags: tuple[str, ...]
    files: Mapping[str, str | bytes]
    """Files written into the case's directory: `config.yaml`, `kubeconfig` and the case's own."""
    exits: int
    says: str
    probe_flags: tuple[str, ...]
    """Free ports for the probe addresses the case does not set itself (the defaults may be in
    use on the machine, which would stop the start before the case's own error)."""

    def arguments(self, directory: Path) -> list[str]:
        """Write the case's files into `directory` (its `{tmp}`) and give the arguments of
        `kubernaut-wfe run`: the kubeconfig, the config file, then the case's flags."""
        for name, content in self.files.items():
            path = directory / name
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content.replace(TMP, str(directory)), encoding="utf-8")
        arguments = ["--kubeconfig", str(directory / "kubeconfig")]
        if "config.yaml" in self.files:
            arguments += ["--config", str(directory / "config.yaml")]
        arguments += self.probe_flags
        return arguments + [flag.replace(TMP, str(directory)) for flag in self.flags]

    def expected(self, directory: Path) -> str:
        """The fragment the error must hold, with `{tmp}` the case's directory."""
        return self.says.replace(TMP, str(directory))


def case_name(entry: Mapping[str, Any], keys: Collection[str]) -> str:
    """A corpus entry's name, once the entry is known to have one and no key but `keys`."""
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"corpus case without a name: {entry}")
    unknown = set(entry) - set(keys)
    if unknown:
        raise ValueError(f"corpus case {name}: unknown keys {sorted(unknown)}")
    return name


def _settings_case(entry: dict[str, Any]) -> SettingsCase:
    name = case_name(entry, _SETTINGS_KEYS)
    says = entry.get("says")
    if not isinstance(entry.get("exits"), int) or not isinstance(says, str) or not says:
        raise ValueError(f"corpus case {name} must name its outcome: `exits: CODE`, `says: TEXT`")
    flags = entry.get("flags", [])
    if not isinstance(flags, list) or not all(isinstance(flag, str) for flag in flags):
        raise ValueError(f"corpus case {name}: flags must be a list of strings")
    if "config" in entry and "config_text" in entry:
        raise ValueError(f"corpus case {name}: config or config_text, not both")
    files: dict[str, str | bytes] = {"kubeconfig": MINIMAL_KUBECONFIG}
    if "kubeconfig_text" in entry:
        files["kubeconfig"] = _file_content(name, "kubeconfig_text", entry["kubeconfig_text"])
    if "config" in entry:
        files["config.yaml"] = yaml.safe_dump(entry["config"])
    if "config_text" in entry:
        files["config.yaml"] = _file_content(name, "config_text", entry["config_text"])
    extra = entry.get("files", {})
    if not isinstance(extra, dict) or {"kubeconfig", "config.yaml"} & set(extra):
        raise ValueError(f"corpus case {name}: files maps other file names to their content")
    for file_name, content in extra.items():
        files[file_name] = _file_content(name, f"files.{file_name}", content)
    config = entry.get("config")
    section = config.get("controller") if isinstance(config, dict) else None
    probe_flags: list[str] = []
    for flag, keys in _PROBE_ADDRESSES:
        set_by_case = any(given.split("=")[0] == flag for given in flags) or (
            isinstance(section, dict) and any(key in section for key in keys)
        )
        if not set_by_case:
            probe_flags += [flag, "127.0.0.1:0"]
    return SettingsCase(
        name=name,
        flags=tuple(flags),
        files=files,
        exits=entry["exits"],
        says=entry["says"],
        probe_flags=tuple(probe_flags),
    )


def settings_cases() -> list[SettingsCase]:
    """Every case of `tests/corpus/settings.yaml`, each checked to name its outcome."""
    raw = yaml.safe_load((CORPUS_DIR / "settings.yaml").read_text(encoding="utf-8"))
    return [_settings_case(entry) for entry in raw]


AUDIT_EVENT: Final = CORPUS_DIR / "audit_event.yaml"
AUDIT_CLOCK: Final = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
"""The audit service's clock during every case of `audit_requests.yaml` (the valid event of
`audit_event.yaml` is a minute older)."""
_REQUEST_KEYS: Final = {
    "name", "method", "path", "headers", "json", "text", "event", "batch", "bytes_of_size",
    "status", "says",
}  # fmt: skip
_BODY_KEYS: Final = ("json", "text", "event", "batch")


@functools.cache
def _valid_event() -> dict[str, Any]:
    event: dict[str, Any] = yaml.safe_load(AUDIT_EVENT.read_text(encoding="utf-8"))
    return event


def _changed_event(case: str, changes: Any) -> dict[str, Any]:
    """The valid event of `audit_event.yaml` with `changes` (dotted paths; null removes)."""
    if not isinstance(changes, dict):
        raise ValueError(f"corpus case {case}: an event's changes are a mapping")
    event = copy.deepcopy(_valid_event())
    apply_changes(event, changes)
    return event


@dataclass(frozen=True)
class AuditRequestCase:
    """One case of `audit_requests.yaml`: a request and the HTTP status it must get."""

    name: str
    method: str
    path: str
    headers: Mapping[str, str | None]
    """Request headers; null leaves a header out (a body goes as application/json otherwise)."""
    document: Any
    """The body as JSON (`json`, `event` or `batch`), or None."""
    text: str | bytes | None
    bytes_of_size: int | None
    status: int
    says: str | None

    def body(self) -> bytes | None:
        """The bytes sent: the text, or the JSON document, padded with spaces after its first
        `{` (or its first character) to `bytes_of_size` bytes."""
        if self.text is not None:
            return self.text.encode() if isinstance(self.text, str) else self.text
        if self.document is None and self.bytes_of_size is None:
            return None
        encoded = json.dumps({} if self.document is None else self.document).encode()
        if self.bytes_of_size is None:
            return encoded
        if len(encoded) > self.bytes_of_size:
            raise ValueError(f"corpus case {self.name}: its body is over {self.bytes_of_size} B")
        brace = encoded.find(b"{")
        cut = brace + 1 if brace >= 0 else 1
        padding = b" " * (self.bytes_of_size - len(encoded))
        return encoded[:cut] + padding + encoded[cut:]

    def request_headers(self) -> dict[str, str]:
        """The headers sent: `Content-Type: application/json` with a body, then the case's."""
        headers: dict[str, str | None] = {}
        if self.document is not None or self.text is not None or self.bytes_of_size is not None:
            headers["content-type"] = "application/json"
        headers.update({name.lower(): value for name, value in self.headers.items()})
        return {name: value for name, value in headers.items() if value is not None}


def _audit_request_case(entry: dict[str, Any]) -> AuditRequestCase:
    name = case_name(entry, _REQUEST_KEYS)
    if not isinstance(entry.get("status"), int):
        raise ValueError(f"corpus case {name} must name its outcome: `status: CODE`")
    if "says" in entry and not (isinstance(entry["says"], str) and entry["says"]):
        raise ValueError(f"corpus case {name}: says is a text")
    method, path = entry.get("method"), entry.get("path")
    if not isinstance(method, str) or not method.isupper() or not isinstance(path, str):
        raise ValueError(f"corpus case {name}: method (upper case) and path are required")
    if not path.startswith("/"):
        raise ValueError(f"corpus case {name}: path starts with /")
    bodies = [key for key in _BODY_KEYS if key in entry]
    size = entry.get("bytes_of_size")
    if len(bodies) > 1 or (size is not None and bodies == ["text"]):
        raise ValueError(f"corpus case {name}: one body of json, text, event or batch")
    if size is not None and (not isinstance(size, int) or size < 2):
        raise ValueError(f"corpus case {name}: bytes_of_size is a number of bytes")
    headers = entry.get("headers", {})
    if not isinstance(headers, dict) or not all(
        isinstance(value, str | None) for value in headers.values()
    ):
        raise ValueError(f"corpus case {name}: headers map names to text (or null)")
    if "json" in entry and entry["json"] is None:
        raise ValueError(f'corpus case {name}: a body of JSON null is `text: "null"`')
    text = entry.get("text")
    if text is not None and not isinstance(text, str | bytes):
        raise ValueError(f"corpus case {name}: text is a string or !!binary")
    document = entry.get("json")
    if "event" in entry:
        document = _changed_event(name, entry["event"])
    if "batch" in entry:
        batch = entry["batch"]
        if isinstance(batch, int):
            document = [_changed_event(name, {})] * batch
        elif isinstance(batch, list):
            document = [_changed_event(name, changes) for changes in batch]
        else:
            raise ValueError(f"corpus case {name}: batch is a list of changes or a number")
    return AuditRequestCase(
        name=name,
        method=method,
        path=path,
        headers=headers,
        document=document,
        text=text,
        bytes_of_size=size,
        status=entry["status"],
        says=entry.get("says"),
    )


def audit_request_cases() -> list[AuditRequestCase]:
    """Every case of `tests/corpus/audit_requests.yaml`, each checked to name its status."""
    raw = yaml.safe_load((CORPUS_DIR / "audit_requests.yaml").read_text(encoding="utf-8"))
    return [_audit_request_case(entry) for entry in raw]


_REACH_KEYS: Final = {"name", "cluster", "user", "exits", "says", "retries", "readyz_says"}
REACH_PLACEHOLDERS: Final = frozenset({
    "tmp", "real_server", "real_ca", "real_token", "not_in_sans", "other_ca", "other_client_cert",
    "other_client_key", "refused", "blackhole", "closes", "unavailable", "plain_http",
    "not_found", "html",
})  # fmt: skip
"""What `kubeconfig_reach.yaml` may name as `{placeholder}` (tests/corpus/README.md says each)."""
REAL_SERVER_PLACEHOLDERS: Final = frozenset({"real_server", "real_ca", "real_token", "not_in_sans"})
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True)
class ReachCase:
    """One case of `kubeconfig_reach.yaml`: a kubeconfig whose server the controller talks to,
    and what it must do: stop (`exits`, `says`) or retry while NotReady (`readyz_says`)."""

    name: str
    cluster: Mapping[str, Any]
    user: Mapping[str, Any] | None
    exits: int | None
    says: str

    @property
    def retries(self) -> bool:
        """Whether the controller must wait and ask again rather than stop."""
        return self.exits is None

    @property
    def placeholders(self) -> frozenset[str]:
        """The placeholders the case names (in its kubeconfig and its expected text)."""
        return frozenset(_PLACEHOLDER.findall(json.dumps([self.cluster, self.user, self.says])))

    @property
    def needs_real_server(self) -> bool:
        """Whether the case talks to the real API server (the test cluster)."""
        return bool(self.placeholders & REAL_SERVER_PLACEHOLDERS)

    def kubeconfig(self, values: Mapping[str, str]) -> str:
        """The kubeconfig: cluster `c`, user `u` (if any), context `x`, placeholders filled."""
        context = {"cluster": "c", **({"user": "u"} if self.user is not None else {})}
        document = {
            "apiVersion": "v1", "kind": "Config", "current-context": "x",
            "clusters": [{"name": "c", "cluster": dict(self.cluster)}],
            "users": [{"name": "u", "user": dict(self.user)}] if self.user is not None else [],
            "contexts": [{"name": "x", "context": context}],
        }  # fmt: skip
        return fill(yaml.safe_dump(document, sort_keys=False), values)

    def expected(self, values: Mapping[str, str]) -> str:
        """The fragment of the error (or of `/readyz`'s reason), placeholders filled."""
        return fill(self.says, values)


def fill(text: str, values: Mapping[str, str]) -> str:
    """`text` with each `{placeholder}` replaced by its value."""
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], text)


def _reach_case(entry: dict[str, Any]) -> ReachCase:
    name = case_name(entry, _REACH_KEYS)
    exits, says = entry.get("exits"), entry.get("says")
    retries, readyz_says = entry.get("retries"), entry.get("readyz_says")
    if isinstance(exits, int) and isinstance(says, str) and says and retries is None:
        expected: str = says
    elif retries is True and isinstance(readyz_says, str) and readyz_says and exits is None:
        expected = readyz_says
    else:
        raise ValueError(
            f"corpus case {name} must name one outcome: `exits: CODE` and `says: TEXT`, "
            "or `retries: true` and `readyz_says: TEXT`"
        )
    cluster, user = entry.get("cluster"), entry.get("user")
    if not isinstance(cluster, dict) or not isinstance(user, dict | None):
        raise ValueError(f"corpus case {name}: cluster (and user, if given) are mappings")
    case = ReachCase(name, cluster, user, exits if retries is None else None, expected)
    if unknown_names := case.placeholders - REACH_PLACEHOLDERS:
        raise ValueError(f"corpus case {name}: unknown placeholders {sorted(unknown_names)}")
    return case


def reach_cases() -> list[ReachCase]:
    """Every case of `tests/corpus/kubeconfig_reach.yaml`, each checked to name its outcome."""
    raw = yaml.safe_load((CORPUS_DIR / "kubeconfig_reach.yaml").read_text(encoding="utf-8"))
    return [_reach_case(entry) for entry in raw]
