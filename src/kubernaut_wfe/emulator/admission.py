"""Admission of a written object: metadata rules (name, labels, ownerReferences) and, for
custom resources, pruning, defaulting, strict field validation and the CRD schema."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from typing import Any

from kubernaut_wfe.emulator import errors
from kubernaut_wfe.emulator.errors import ApiError
from kubernaut_wfe.emulator.resources import ResourceType

NAMESPACES_KEY = "/v1/namespaces"

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE_HELP = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
_QUALIFIED_NAME_HELP = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
    "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "
    "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
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
    """`metadata.name` must be a DNS subdomain (a DNS label for namespaces)."""
    pattern, what = (
        (_DNS_LABEL, "RFC 1123 label")
        if res.key == NAMESPACES_KEY
        else (_SUBDOMAIN, "RFC 1123 subdomain")
    )
    limit = 63 if res.key == NAMESPACES_KEY else 253
    if len(name) > limit:
        return [
            Problem(
                "metadata.name",
                "FieldValueInvalid",
                f'Invalid value: "{name}": must be no more than {limit} characters',
            )
        ]
    if not pattern.match(name):
        return [
            Problem(
                "metadata.name",
                "FieldValueInvalid",
                f'Invalid value: "{name}": a lowercase {what} must consist of lower case '
                "alphanumeric characters, '-' or '.', and must start and end with an "
                "alphanumeric character",
            )
        ]
    return []


def _label_key_problem(key: str) -> str | None:
    prefix, slash, name = key.rpartition("/")
    if slash and (not prefix or len(prefix) > 253 or not _SUBDOMAIN.match(prefix)):
        return (
            "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
            "characters, '-' or '.', and must start and end with an alphanumeric character"
        )
    if not name or len(name) > 63:
        return (
            "name part must be no more than 63 characters"
            if name
            else "name part must be non-empty"
        )
    if not _QUALIFIED_NAME.match(name):
        return _QUALIFIED_NAME_HELP
    return None


def metadata_problems(metadata: dict[str, Any]) -> list[Problem]:
    """Label keys and values, and ownerReferences, as the apiserver validates them."""
    problems: list[Problem] = []
    labels = metadata.get("labels") or {}
    if not isinstance(labels, dict):
        return [Problem("metadata.labels", "FieldValueTypeInvalid", "must be a map of strings")]
    for key, value in labels.items():
        key_problem = _label_key_problem(str(key))
        if key_problem is not None:
            problems.append(
                Problem(
                    "metadata.labels", "FieldValueInvalid", f'Invalid value: "{key}": {key_problem}'
                )
            )
        if not isinstance(value, str):
            problems.append(
                Problem(f"metadata.labels[{key}]", "FieldValueTypeInvalid", "must be a string")
            )
        elif len(value) > 63:
            problems.append(
                Problem(
                    "metadata.labels",
                    "FieldValueInvalid",
                    f'Invalid value: "{value}": must be no more than 63 characters',
                )
            )
        elif not _LABEL_VALUE.match(value):
            problems.append(
                Problem(
                    "metadata.labels",
                    "FieldValueInvalid",
                    f'Invalid value: "{value}": {_LABEL_VALUE_HELP}',
                )
            )
    problems.extend(_annotation_problems(metadata.get("annotations") or {}))
    for index, finalizer in enumerate(metadata.get("finalizers") or []):
        problem = _label_key_problem(finalizer) if isinstance(finalizer, str) else "not a string"
        if problem is not None:
            problems.append(
                Problem(
                    f"metadata.finalizers[{index}]",
                    "FieldValueInvalid",
                    f'Invalid value: "{finalizer}": {problem}',
                )
            )
    for index, owner in enumerate(metadata.get("ownerReferences") or []):
        for required in ("apiVersion", "kind", "name", "uid"):
            if not isinstance(owner, dict) or not owner.get(required):
                problems.append(
                    Problem(
                        f"metadata.ownerReferences[{index}].{required}",
                        "FieldValueRequired" if required != "uid" else "FieldValueInvalid",
                        "Required value"
                        if required != "uid"
                        else 'Invalid value: "": uid must not be empty',
                    )
                )
    return problems


_ANNOTATIONS_LIMIT = 256 * 1024


def _annotation_problems(annotations: Any) -> list[Problem]:
    if not isinstance(annotations, dict):
        return [
            Problem("metadata.annotations", "FieldValueTypeInvalid", "must be a map of strings")
        ]
    problems: list[Problem] = []
    total = 0
    for key, value in annotations.items():
        key_problem = _label_key_problem(str(key))
        if key_problem is not None:
            problems.append(
                Problem(
                    "metadata.annotations",
                    "FieldValueInvalid",
                    f'Invalid value: "{key}": {key_problem}',
                )
            )
        total += len(str(key)) + len(str(value))
    if total > _ANNOTATIONS_LIMIT:
        problems.append(
            Problem(
                "metadata.annotations",
                "FieldValueTooLong",
                f"Too long: must have at most {_ANNOTATIONS_LIMIT} bytes",
            )
        )
    return problems


def admit(
    res: ResourceType,
    obj: dict[str, Any],
    old: dict[str, Any] | None,
    options: WriteOptions,
) -> dict[str, Any]:
    """The object as stored: metadata checked; for custom resources pruned (400 on unknown
    fields under Strict, warnings under Warn), defaulted and validated (422 Invalid)."""
    name = (obj.get("metadata") or {}).get("name", "")
    problems = metadata_problems(obj["metadata"])
    if problems:
        raise invalid(res, name, problems)
    if res.schema is None:
        return obj
    pruned, unknown_paths = res.schema.prune(obj)
    pruned = res.schema.default(pruned)
    unknown = [path.lstrip(".") for path in unknown_paths]
    if unknown:
        described = ", ".join(f'unknown field "{path}"' for path in unknown)
        if options.field_validation == "Strict":
            raise ApiError(400, f"strict decoding error: {described}")
        if options.field_validation != "Ignore":
            options.warnings.extend(f'unknown field "{path}"' for path in unknown)
    failures = res.schema.validate(pruned, old)
    if failures:
        raise invalid(res, name, [Problem(f.field, f.reason, f.message) for f in failures])
    return pruned
