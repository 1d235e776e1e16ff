"""Deterministic names and label values."""

from __future__ import annotations

import hashlib
import re

from kubernaut_wfe.constants import PIPELINERUN_NAME_PREFIX

_DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
NAMESPACE_PATTERN = re.compile(rf"^{_DNS_LABEL}$")
"""A namespace name (DNS-1123 label, at most 63 characters)."""
OBJECT_NAME_PATTERN = re.compile(rf"^{_DNS_LABEL}(\.{_DNS_LABEL})*$")
"""A Kubernetes object name (DNS-1123 subdomain, at most 253 characters): a RemediationRequest's,
a ServiceAccount's, a Lease's."""


def is_namespace_name(value: str) -> bool:
    """A DNS-1123 label of at most 63 characters."""
    return len(value) <= 63 and NAMESPACE_PATTERN.fullmatch(value) is not None


def is_object_name(value: str) -> bool:
    """A DNS-1123 subdomain of at most 253 characters."""
    return len(value) <= 253 and OBJECT_NAME_PATTERN.fullmatch(value) is not None


LABEL_VALUE_MAX = 63
_NOT_LABEL_CHAR = re.compile(r"[^-_.A-Za-z0-9]")
_LABEL_EDGE = "-_."
_NOT_DNS_LABEL_CHAR = re.compile(r"[^-a-z0-9]")


def pipelinerun_name(target_resource: str) -> str:
    """`wfe-` + the first 16 hex digits of SHA-256 of the target: the per-target lock."""
    digest = hashlib.sha256(target_resource.encode("utf-8")).hexdigest()
    return f"{PIPELINERUN_NAME_PREFIX}{digest[:16]}"


def dns_label(prefix: str, name: str) -> str:
    """`<prefix><name>` when that is a DNS-1123 label (a volume's name must be one); otherwise a
    label made of the prefix, what fits of the name, and 8 hex digits of its SHA-256, so that a
    dotted or long object name still gets a valid, distinct name. `prefix` ends with `-`."""
    wanted = prefix + name
    if is_namespace_name(wanted):
        return wanted
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
    room = LABEL_VALUE_MAX - len(prefix) - len(digest) - 1
    body = _NOT_DNS_LABEL_CHAR.sub("-", name.lower())[:room].strip("-")
    return f"{prefix}{body}-{digest}" if body else f"{prefix}{digest}"


def sanitize_label_value(value: str) -> str:
    """A valid label value: odd characters → `_`, at most 63 chars, alphanumeric at both ends."""
    replaced = _NOT_LABEL_CHAR.sub("_", value)
    return replaced[:LABEL_VALUE_MAX].strip(_LABEL_EDGE)


def target_label_value(target_resource: str) -> str:
    """The `kubernaut.ai/target-resource` label value: `/` → `__`, then sanitised."""
    return sanitize_label_value(target_resource.replace("/", "__"))
