"""`x-kubernetes-validations` rules: compiled once with cel-python, evaluated per node.

Values are converted to CEL types by their schema, as the apiserver does: `integer` → int,
`number` → double, `format: date-time`/`date` strings → timestamp, unknown (preserved) fields by
their JSON shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import celpy
import lark
from celpy import celtypes
from celpy.adapter import json_to_cel
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError

from kubernaut_wfe_tools.crdschema.correlation import canonical
from kubernaut_wfe_tools.crdschema.errors import (
    CauseType,
    FieldError,
    child_path,
    go_value,
    key_path,
)

if TYPE_CHECKING:
    from kubernaut_wfe_tools.crdschema.nodes import SchemaNode

_ENVIRONMENT = celpy.Environment()
_OLD_SELF = "oldSelf"
_OUTCOME_CACHE_SIZE = 4096
_NUMBERS = (celtypes.IntType, celtypes.UintType, celtypes.DoubleType)


def cel_equal(left: Any, right: Any) -> bool:
    """CEL's heterogeneous equality, as cel-go (the apiserver) has it: values of different types
    are unequal (numbers compare by value, null equals only null), maps and lists compare
    member by member. cel-python's own `==` raises on different types instead, which breaks
    `self == oldSelf` over any JSON (x-kubernetes-preserve-unknown-fields) or a nullable field."""
    if isinstance(left, celtypes.BoolType) or isinstance(right, celtypes.BoolType):
        return type(left) is type(right) and bool(left) == bool(right)
    if isinstance(left, _NUMBERS) and isinstance(right, _NUMBERS):
        return _plain_number(left) == _plain_number(right)
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        return len(left) == len(right) and all(
            key in right and cel_equal(value, right[key]) for key, value in left.items()
        )
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(cel_equal, left, right))
    if _is_null(left) or _is_null(right):
        return _is_null(left) and _is_null(right)
    return type(left) is type(right) and bool(left == right)


def _plain_number(value: Any) -> int | float:
    return int(value) if isinstance(value, int) else float(value)


def _is_null(value: Any) -> bool:
    return value is None or isinstance(value, celtypes.NullType)


def _cel_eq(left: Any, right: Any) -> Any:
    for operand in (left, right):
        if isinstance(operand, CELEvalError):
            return operand
    return celtypes.BoolType(cel_equal(left, right))


def _cel_ne(left: Any, right: Any) -> Any:
    for operand in (left, right):
        if isinstance(operand, CELEvalError):
            return operand
    return celtypes.BoolType(not cel_equal(left, right))


_FUNCTIONS = {"_==_": _cel_eq, "_!=_": _cel_ne}


class RuleCompileError(ValueError):
    """A rule or messageExpression that cel-python cannot parse."""


@dataclass(frozen=True)
class CompiledRule:
    """One `x-kubernetes-validations` entry, ready to run."""

    rule: str
    message: str
    program: Any
    message_program: Any | None
    reason: str
    field_path: tuple[tuple[str, bool], ...]
    """`fieldPath` as (segment, is_map_key) pairs, resolved against the node's schema."""
    uses_old_self: bool
    outcomes: dict[tuple[str, str, str | None], Any] = field(
        default_factory=dict, compare=False, repr=False
    )
    """Cached outcome per distinct (type, self, oldSelf) input; see `evaluate_rules`."""

    def failure_detail(self, activation: Mapping[str, Any]) -> str:
        if self.message_program is not None:
            try:
                text = self.message_program.evaluate(activation)
            except Exception:  # the apiserver falls back to the static message
                text = None
            if isinstance(text, str) and text.strip():
                return str(text)
        return self.message or f"failed rule: {self.rule.strip()}"


def _compile(source: str, where: str) -> tuple[Any, bool]:
    try:
        ast = _ENVIRONMENT.compile(source)
    except CELParseError as exc:
        raise RuleCompileError(f"{where}: cannot compile CEL {source!r}: {exc}") from exc
    uses_old = any(
        isinstance(token, lark.Token) and str(token) == _OLD_SELF
        for token in ast.scan_values(lambda value: isinstance(value, lark.Token))
    )
    return _ENVIRONMENT.program(ast, functions=_FUNCTIONS), uses_old


def compile_rules(node_schema: Mapping[str, Any], where: str) -> tuple[CompiledRule, ...]:
    """Compile a node's `x-kubernetes-validations` list; a bad rule makes the CRD invalid."""
    compiled: list[CompiledRule] = []
    for index, raw in enumerate(node_schema.get("x-kubernetes-validations") or ()):
        location = f"{where}.x-kubernetes-validations[{index}]"
        rule = str(raw.get("rule", ""))
        if not rule.strip():
            raise RuleCompileError(f"{location}.rule: Required value")
        program, uses_old = _compile(rule, location)
        message_program = None
        if raw.get("messageExpression"):
            message_program, _ = _compile(str(raw["messageExpression"]), location)
        compiled.append(
            CompiledRule(
                rule=rule,
                message=str(raw.get("message") or "").strip(),
                program=program,
                message_program=message_program,
                reason=str(raw.get("reason") or CauseType.INVALID),
                field_path=_resolve_field_path(
                    node_schema, _field_path_segments(str(raw.get("fieldPath") or "")), location
                ),
                uses_old_self=uses_old or bool(raw.get("optionalOldSelf")),
            )
        )
    return tuple(compiled)


def _resolve_field_path(
    node_schema: Mapping[str, Any], segments: tuple[str, ...], where: str
) -> tuple[tuple[str, bool], ...]:
    """Mark which segments are map keys (rendered `[key]`), as the apiserver does."""
    resolved: list[tuple[str, bool]] = []
    current: Any = node_schema
    for segment in segments:
        properties = current.get("properties") if isinstance(current, Mapping) else None
        additional = current.get("additionalProperties") if isinstance(current, Mapping) else None
        if properties and segment in properties:
            resolved.append((segment, False))
            current = properties[segment]
        elif isinstance(additional, Mapping):
            resolved.append((segment, True))
            current = additional
        else:
            raise RuleCompileError(
                f"{where}.fieldPath: {segment!r} does not refer to a valid field"
            )
    return tuple(resolved)


def _field_path_segments(field_path: str) -> tuple[str, ...]:
    """`.foo.bar` / `.foo['a.b']` → ("foo", "bar") / ("foo", "a.b")."""
    parts: list[str] = []
    rest = field_path
    while rest:
        if rest.startswith("['"):
            end = rest.find("']")
            if end < 0:
                raise RuleCompileError(f"fieldPath {field_path!r}: unclosed ['")
            parts.append(rest[2:end])
            rest = rest[end + 2 :]
        elif rest.startswith("."):
            rest = rest[1:]
            stop = min((i for i in (rest.find("."), rest.find("[")) if i >= 0), default=len(rest))
            parts.append(rest[:stop])
            rest = rest[stop:]
        else:
            parts.append(rest)
            break
    return tuple(part for part in parts if part)


def to_cel(value: Any, node: SchemaNode | None) -> Any:
    """Convert a JSON value to cel-python types, guided by its schema node."""
    if value is None:
        return None
    if node is None:
        return json_to_cel(value)
    if isinstance(value, Mapping):
        entries = {}
        for key, item in value.items():
            child = node.properties.get(key) or node.additional_properties
            entries[celtypes.StringType(key)] = to_cel(item, child)
        return celtypes.MapType(entries)
    if isinstance(value, list):
        return celtypes.ListType([to_cel(item, node.items) for item in value])
    if isinstance(value, bool):
        return celtypes.BoolType(value)
    if isinstance(value, int | float) and node.type == "number":
        return celtypes.DoubleType(float(value))
    if isinstance(value, float) and node.type == "integer" and value.is_integer():
        return celtypes.IntType(int(value))
    if isinstance(value, str) and node.type == "string" and node.format in ("date-time", "date"):
        try:
            return celtypes.TimestampType(value)
        except Exception:  # a malformed timestamp stays a string; the schema reports it
            return celtypes.StringType(value)
    return json_to_cel(value)


@dataclass(frozen=True)
class _Failure:
    """A failed rule, independent of where its node sits (cached per distinct input)."""

    reason: str
    message: str
    at_rule_field_path: bool


def evaluate_rules(
    node: SchemaNode,
    value: Any,
    old: Any,
    *,
    has_old: bool,
    path: str,
    errors: list[FieldError],
    only_transition_rules: bool = False,
) -> None:
    """Run the node's own rules on `value` (transition rules only when `has_old`).

    Rules are pure functions of `self` and `oldSelf`, so outcomes are cached by their JSON text:
    an update that leaves a field alone re-checks it without running the interpreter.
    """
    if not node.rules or value is None:
        return
    self_key = canonical(value)
    old_key = canonical(old) if has_old else None
    activation: dict[str, Any] | None = None
    type_name = node.type or "object"
    for rule in node.rules:
        if rule.uses_old_self and not has_old:
            continue
        if only_transition_rules and not rule.uses_old_self:
            continue
        key = (type_name, self_key, old_key if rule.uses_old_self else None)
        if key in rule.outcomes:
            failure = rule.outcomes[key]
        else:
            if activation is None:
                activation = {"self": to_cel(value, node)}
                if has_old:
                    activation[_OLD_SELF] = to_cel(old, node)
            failure = _run(rule, activation, type_name, value)
            if len(rule.outcomes) >= _OUTCOME_CACHE_SIZE:
                rule.outcomes.clear()
            rule.outcomes[key] = failure
        if failure is not None:
            errors.append(_field_error(rule, failure, path))


def _run(
    rule: CompiledRule, activation: Mapping[str, Any], type_name: str, value: Any
) -> _Failure | None:
    """The outcome of one rule, worded as kube-apiserver 1.36 words it: a failed rule quotes a
    scalar value (objects and lists are left out), an evaluation error the value's type."""
    typed = f"Invalid value: {go_value(type_name)}: "
    try:
        result = rule.program.evaluate(activation)
        if isinstance(result, CELEvalError):
            raise result
    except Exception as exc:  # every evaluation failure becomes a field error
        detail = f"{_eval_error_text(exc)} evaluating rule: {rule.message or rule.rule.strip()}"
        return _Failure(CauseType.INVALID, typed + detail, at_rule_field_path=False)
    if not isinstance(result, celtypes.BoolType | bool):
        detail = f"rule did not evaluate to a bool ({result!r}): {rule.rule.strip()}"
        return _Failure(CauseType.INVALID, typed + detail, at_rule_field_path=False)
    if result:
        return None
    detail = rule.failure_detail(activation)
    if rule.reason == CauseType.FORBIDDEN:
        return _Failure(CauseType.FORBIDDEN, f"Forbidden: {detail}", at_rule_field_path=True)
    if rule.reason == CauseType.REQUIRED:
        return _Failure(CauseType.REQUIRED, f"Required value: {detail}", at_rule_field_path=True)
    if rule.reason == CauseType.DUPLICATE:
        return _Failure(CauseType.DUPLICATE, "Duplicate value", at_rule_field_path=True)
    shown = "" if isinstance(value, Mapping | list) else f"{go_value(value)}: "
    return _Failure(CauseType.INVALID, f"Invalid value: {shown}{detail}", at_rule_field_path=True)


def _field_error(rule: CompiledRule, failure: _Failure, path: str) -> FieldError:
    target = path
    if failure.at_rule_field_path:
        for segment, is_key in rule.field_path:
            target = key_path(target, segment) if is_key else child_path(target, segment)
    return FieldError(target, failure.reason, failure.message)


def _eval_error_text(exc: Exception) -> str:
    if isinstance(exc, CELEvalError) and exc.args:
        return str(exc.args[0])
    return str(exc) or type(exc).__name__
