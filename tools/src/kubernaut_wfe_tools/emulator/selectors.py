"""Label and field selectors, parsed from query strings as the apiserver accepts them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kubernaut_wfe_tools.emulator.errors import ApiError

if TYPE_CHECKING:
    from kubernaut_wfe_tools.emulator.resources import ResourceType

_SET_REQUIREMENT = re.compile(r"^\s*([^\s!=(),]+)\s+(in|notin)\s*\(([^)]*)\)\s*$")
_BINARY = re.compile(r"^\s*([^\s!=(),]+)\s*(==|!=|=)\s*([^\s!=(),]*)\s*$")
_EXISTS = re.compile(r"^\s*(!?)\s*([^\s!=(),]+)\s*$")


@dataclass(frozen=True)
class Requirement:
    """One label requirement: `key <op> values` with op in `=`, `!=`, `in`, `notin`, exists, `!`."""

    key: str
    operator: str
    values: frozenset[str] = frozenset()

    def matches(self, labels: dict[str, str]) -> bool:
        """Whether a label set satisfies this requirement."""
        present = self.key in labels
        value = labels.get(self.key)
        if self.operator == "exists":
            return present
        if self.operator == "!":
            return not present
        if self.operator in ("=", "in"):
            return present and value in self.values
        # `!=` and `notin` also match objects without the label, as on a real apiserver.
        return not present or value not in self.values

    @property
    def indexable_values(self) -> frozenset[str] | None:
        """The only values a matching object can have for `key`, when that is known."""
        return self.values if self.operator in ("=", "in") else None


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part for part in parts if part.strip()]


@dataclass(frozen=True)
class LabelSelector:
    """A conjunction of label requirements; empty matches everything."""

    requirements: tuple[Requirement, ...] = ()

    @classmethod
    def parse(cls, text: str | None) -> LabelSelector:
        """Parse `a=b,c!=d,e in (f,g),!h,i`; a malformed selector is a 400 BadRequest."""
        if not text:
            return cls()
        requirements: list[Requirement] = []
        for part in _split_top_level(text):
            requirements.append(_parse_requirement(part, text))
        return cls(tuple(requirements))

    def matches(self, labels: dict[str, str] | None) -> bool:
        """Whether a label set satisfies every requirement."""
        labels = labels or {}
        return all(req.matches(labels) for req in self.requirements)


def _parse_requirement(part: str, whole: str) -> Requirement:
    if match := _SET_REQUIREMENT.match(part):
        values = frozenset(v.strip() for v in match.group(3).split(",") if v.strip())
        return Requirement(match.group(1), match.group(2), values)
    if match := _BINARY.match(part):
        operator = "!=" if match.group(2) == "!=" else "="
        return Requirement(match.group(1), operator, frozenset({match.group(3)}))
    if match := _EXISTS.match(part):
        return Requirement(match.group(2), "!" if match.group(1) else "exists")
    raise ApiError(400, f'unable to parse requirement: invalid label selector "{whole}"')


_FIELD_TERM = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(==|!=|=)\s*(.*?)\s*$")
_GENERIC_FIELDS = ("metadata.name", "metadata.namespace")


@dataclass(frozen=True)
class FieldSelector:
    """A conjunction of `path=value` / `path!=value` terms over an object's fields."""

    terms: tuple[tuple[str, bool, str], ...] = ()

    @classmethod
    def parse(
        cls,
        text: str | None,
        *,
        kind: str,
        extra_fields: bool = False,
        supported: frozenset[str] | None = None,
    ) -> FieldSelector:
        """Parse `metadata.name=x,metadata.namespace!=y`; an unsupported field is a 400.

        `supported` names every field a custom resource may be selected by (the API server's
        refusal then carries no details); without it the built-in kinds' generic fields.
        """
        if not text:
            return cls()
        terms: list[tuple[str, bool, str]] = []
        for part in text.split(","):
            if not part.strip():
                continue
            match = _FIELD_TERM.match(part)
            if match is None:
                raise ApiError(400, f'invalid field selector: "{text}"')
            path, operator, value = match.groups()
            if supported is not None:
                if path not in supported:
                    raise ApiError(400, f"field label not supported: {path}")
            elif path not in _GENERIC_FIELDS and not extra_fields:
                raise ApiError(
                    400,
                    f"field label not supported: {path}",
                    details={"kind": kind},
                )
            terms.append((path, operator != "!=", value))
        return cls(tuple(terms))

    @classmethod
    def for_resource(cls, res: ResourceType, text: str | None) -> FieldSelector:
        """The `fieldSelector` of a request on `res`: a custom resource is selected by
        metadata.name, metadata.namespace (when namespaced) and its CRD's selectableFields."""
        if not res.custom:
            return cls.parse(text, kind=res.kind, extra_fields=res.plural == "events")
        generic = _GENERIC_FIELDS if res.namespaced else ("metadata.name",)
        return cls.parse(text, kind=res.kind, supported=frozenset(generic + res.selectable_fields))

    def matches(self, obj: dict[str, Any]) -> bool:
        """Whether the object's fields satisfy every term (missing fields read as "")."""
        for path, equal, value in self.terms:
            actual = _field_value(obj, path)
            if (actual == value) != equal:
                return False
        return True

    @property
    def name(self) -> str | None:
        """The exact `metadata.name` required, if any (lets a lookup skip a scan)."""
        for path, equal, value in self.terms:
            if path == "metadata.name" and equal:
                return value
        return None


def _field_value(obj: dict[str, Any], path: str) -> str:
    current: Any = obj
    for segment in path.split("."):
        if not isinstance(current, dict):
            return ""
        current = current.get(segment)
    if current is None:
        return ""
    if isinstance(current, bool):
        return "true" if current else "false"
    return current if isinstance(current, str) else str(current)
