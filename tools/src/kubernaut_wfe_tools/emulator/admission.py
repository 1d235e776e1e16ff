"""Admission of a written object: metadata rules (name, labels, ownerReferences) and, for
custom resources, pruning, defaulting, strict field validation and the CRD schema."""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass, field
from typing import Any

from kubernaut_wfe_tools.emulator import errors
from kubernaut_wfe_tools.emulator.errors import ApiError
from kubernaut_wfe_tools.emulator.resources import ResourceType

NAMESPACES_KEY = "/v1/namespaces"

_SUBDOMAIN_FORMAT = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_DNS_LABEL_FORMAT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_QUALIFIED_NAME_FORMAT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE_FORMAT = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"
_SUBDOMAIN = re.compile(_SUBDOMAIN_FORMAT)
_DNS_LABEL = re.compile(_DNS_LABEL_FORMAT)
_QUALIFIED_NAME = re.compile(_QUALIFIED_NAME_FORMAT)
_LABEL_VALUE = re.compile(_LABEL_VALUE_FORMAT)
STANDARD_FINALIZERS = ("kubernetes", "orphan", "foregroundDeletion")


def _regex_error(message: str, pattern: str, *examples: str) -> str:
    """The apimachinery wording of a pattern mismatch (`validation.RegexError`)."""
    shown = "',  or '".join(examples)
    return f"{message} (e.g. '{shown}', regex used for validation is '{pattern}')"


_SUBDOMAIN_HELP = _regex_error(
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character",
    _SUBDOMAIN_FORMAT,
    "example.com",
)
_DNS_LABEL_HELP = _regex_error(
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character",
    _DNS_LABEL_FORMAT,
    "my-name",
    "123-abc",
)
_QUALIFIED_NAME_HELP = _regex_error(
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character",
    _QUALIFIED_NAME_FORMAT,
    "MyName",
    "my.name",
    "123-abc",
)
_LABEL_VALUE_HELP = _regex_error(
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character",
    _LABEL_VALUE_FORMAT,
    "MyValue",
    "my_value",
    "12345",
)


def utc_now() -> datetime.datetime:
    """The wall clock, in UTC."""
    return datetime.datetime.now(datetime.UTC)


def rfc3339(moment: datetime.datetime) -> str:
    """Whole-second RFC 3339 in UTC, as Kubernetes writes timestamps."""
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class WriteOptions:
    """Query options of a write (`fieldValidation`, `dryRun`) and the warnings it collects."""

    field_validation: str = "Warn"
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Problem:
    """One field error found by the metadata rules."""

    field: str
    reason: str
    message: str


def invalid(res: ResourceType, name: str, problems: list[Problem]) -> ApiError:
    """422 Invalid for the object, listing every problem as a cause."""
    return errors.invalid(
        res.kind,
        res.group,
        name,
        [{"reason": p.reason, "message": p.message, "field": p.field} for p in problems],
        [f"{p.field}: {p.message}" for p in problems],
    )


def name_problems(res: ResourceType, name: str) -> list[Problem]:
    """`metadata.name` must be a DNS subdomain (a DNS label for namespaces): the length and the
    pattern are both checked, each a cause of its own, as the API server does."""
    namespace = res.key == NAMESPACES_KEY
    pattern, help_text, limit = (
        (_DNS_LABEL, _DNS_LABEL_HELP, 63) if namespace else (_SUBDOMAIN, _SUBDOMAIN_HELP, 253)
    )
    problems = []
    if len(name) > limit:
        problems.append(f"must be no more than {limit} characters")
    if not pattern.fullmatch(name):
        problems.append(help_text)
    return [_invalid("metadata.name", name, p) for p in problems]


def _quoted(value: str) -> str:
    """A string as Go's `%q` prints it (enough for the values shown in field errors)."""
    return json.dumps(value, ensure_ascii=False)


def _invalid(field: str, value: str, problem: str) -> Problem:
    """The API server's `field.Invalid`: `Invalid value: "<value>": <problem>`."""
    return Problem(field, "FieldValueInvalid", f"Invalid value: {_quoted(value)}: {problem}")


def _qualified_name_problems(key: str) -> list[str]:
    """What `validation.IsQualifiedName` says of a label key, annotation key or finalizer."""
    parts = key.split("/")
    if len(parts) > 2:
        return [
            f"a valid label key {_QUALIFIED_NAME_HELP} with an optional DNS subdomain prefix "
            "and '/' (e.g. 'example.com/MyName')"
        ]
    problems = []
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            problems.append("prefix part must be non-empty")
        else:
            if len(prefix.encode()) > 253:
                problems.append("prefix part must be no more than 253 bytes")
            if not _SUBDOMAIN.fullmatch(prefix):
                problems.append(f"prefix part {_SUBDOMAIN_HELP}")
    if not name:
        problems.append("name part must be non-empty")
    elif len(name.encode()) > 63:
        problems.append("name part must be no more than 63 bytes")
    if not _QUALIFIED_NAME.fullmatch(name):
        problems.append(f"name part {_QUALIFIED_NAME_HELP}")
    return problems


def _label_value_problems(value: str) -> list[str]:
    problems = []
    if len(value.encode()) > 63:
        problems.append("must be no more than 63 bytes")
    if not _LABEL_VALUE.fullmatch(value):
        problems.append(_LABEL_VALUE_HELP)
    return problems


def metadata_problems(metadata: dict[str, Any], warnings: list[str] | None = None) -> list[Problem]:
    """Label keys and values, annotations, finalizers and ownerReferences, with the field paths
    and wording of the API server (which names `metadata.finalizers` and
    `metadata.ownerReferences.<field>` without an index). Finalizer names without a domain add
    the server's warning to `warnings`."""
    problems: list[Problem] = []
    labels = metadata.get("labels") or {}
    if not isinstance(labels, dict):
        return [Problem("metadata.labels", "FieldValueTypeInvalid", "must be a map of strings")]
    for key in sorted(labels, key=str):
        value = labels[key]
        for problem in _qualified_name_problems(str(key)):
            problems.append(_invalid("metadata.labels", str(key), problem))
        if not isinstance(value, str):
            problems.append(
                Problem(f"metadata.labels[{key}]", "FieldValueTypeInvalid", "must be a string")
            )
            continue
        for problem in _label_value_problems(value):
            problems.append(_invalid("metadata.labels", value, problem))
    problems.extend(_annotation_problems(metadata.get("annotations") or {}))
    for finalizer in metadata.get("finalizers") or []:
        text = str(finalizer)
        for problem in _qualified_name_problems(text):
            problems.append(_invalid("metadata.finalizers", text, problem))
        if warnings is not None and "/" not in text and text not in STANDARD_FINALIZERS:
            warnings.append(
                f"metadata.finalizers: {_quoted(text)}: prefer a domain-qualified finalizer name "
                "to avoid accidental conflicts with other finalizer writers"
            )
    for owner in metadata.get("ownerReferences") or []:
        problems.extend(_owner_problems(owner if isinstance(owner, dict) else {}))
    return problems


def _owner_problems(owner: dict[str, Any]) -> list[Problem]:
    api_version = str(owner.get("apiVersion") or "")
    checks = (
        ("apiVersion", api_version, api_version.rpartition("/")[2], "version must not be empty"),
        ("kind", str(owner.get("kind") or ""), owner.get("kind"), "must not be empty"),
        ("name", str(owner.get("name") or ""), owner.get("name"), "must not be empty"),
        ("uid", str(owner.get("uid") or ""), owner.get("uid"), "must not be empty"),
    )
    return [
        _invalid(f"metadata.ownerReferences.{name}", shown, message)
        for name, shown, checked, message in checks
        if not checked
    ]


_ANNOTATIONS_LIMIT = 256 * 1024


def _annotation_problems(annotations: Any) -> list[Problem]:
    if not isinstance(annotations, dict):
        return [
            Problem("metadata.annotations", "FieldValueTypeInvalid", "must be a map of strings")
        ]
    problems: list[Problem] = []
    total = 0
    for key in sorted(annotations, key=str):
        value = annotations[key]
        # the server checks annotation keys lowercased, so upper case passes
        for problem in _qualified_name_problems(str(key).lower()):
            problems.append(_invalid("metadata.annotations", str(key), problem))
        total += len(str(key).encode()) + len(str(value).encode())
    if total > _ANNOTATIONS_LIMIT:
        problems.append(
            Problem(
                "metadata.annotations",
                "FieldValueTooLong",
                f"Too long: may not be more than {_ANNOTATIONS_LIMIT} bytes",
            )
        )
    return problems


def check_fields(
    res: ResourceType, obj: dict[str, Any], options: WriteOptions, *, patched: bool = False
) -> None:
    """Unknown fields of a written custom resource, as the API server's decoder finds them in the
    whole body (also of a `/status` write) before anything else is checked: with
    `fieldValidation=Strict` a 400 (a 422 naming `patch` for a patch, which is decoded once
    applied), with Warn (the default) one warning each, with Ignore nothing."""
    if res.schema is None or options.field_validation == "Ignore":
        return
    unknown = [path.lstrip(".") for path in res.schema.prune(obj)[1]]
    if not unknown:
        return
    described = ", ".join(f'unknown field "{path}"' for path in unknown)
    if options.field_validation != "Strict":
        options.warnings.extend(f'unknown field "{path}"' for path in unknown)
    elif patched:
        document = json.dumps(obj, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
        message = f"Invalid value: {_quoted(document)}: strict decoding error: {described}"
        raise errors.invalid(
            "",
            "",
            "",
            [{"reason": "FieldValueInvalid", "message": message, "field": "patch"}],
            [f"patch: {message}"],
        )
    else:
        raise ApiError(
            400,
            f'{res.kind} in version "{res.version}" cannot be handled as a {res.kind}: '
            f"strict decoding error: {described}",
        )


_OMITTED_WHEN_EMPTY = ("labels", "annotations", "finalizers", "ownerReferences")


def admit(
    res: ResourceType,
    obj: dict[str, Any],
    old: dict[str, Any] | None,
    options: WriteOptions,
) -> dict[str, Any]:
    """The object as stored: metadata checked; for custom resources pruned (unknown fields are
    reported by `check_fields` beforehand), defaulted and validated (422 Invalid)."""
    name = (obj.get("metadata") or {}).get("name", "")
    for key in _OMITTED_WHEN_EMPTY:
        if obj["metadata"].get(key) in ({}, []):
            del obj["metadata"][key]  # as Go's `omitempty` stores them: not at all
    problems = metadata_problems(obj["metadata"], options.warnings)
    if problems:
        raise invalid(res, name, problems)
    if res.schema is None:
        return obj
    pruned, _ = res.schema.prune(obj)
    pruned = res.schema.default(pruned)
    failures = res.schema.validate(pruned, old)
    if failures:
        raise invalid(res, name, [Problem(f.field, f.reason, f.message) for f in failures])
    return pruned
