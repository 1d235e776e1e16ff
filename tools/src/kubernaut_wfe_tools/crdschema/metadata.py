"""The ObjectMeta rules the apiserver applies to every custom resource (name, namespace)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kubernaut_wfe_tools.crdschema import errors as fe
from kubernaut_wfe_tools.crdschema.errors import FieldError

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z")
_SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)


def validate_object_meta(metadata: Any) -> list[FieldError]:
    """Errors of `metadata.name` (a DNS subdomain, or generateName) and `metadata.namespace`."""
    if not isinstance(metadata, Mapping):
        return [fe.required("metadata.name")]
    errors: list[FieldError] = []
    name = metadata.get("name")
    if not name and not metadata.get("generateName"):
        errors.append(
            fe.FieldError(
                "metadata.name",
                fe.CauseType.REQUIRED,
                "Required value: name or generateName is required",
            )
        )
    elif name and (not isinstance(name, str) or len(name) > 253 or not _DNS_SUBDOMAIN.match(name)):
        errors.append(fe.invalid("metadata.name", name, _SUBDOMAIN_MESSAGE))
    namespace = metadata.get("namespace")
    if namespace and (
        not isinstance(namespace, str) or len(namespace) > 63 or not _DNS_LABEL.match(namespace)
    ):
        errors.append(fe.invalid("metadata.namespace", namespace, _LABEL_MESSAGE))
    return errors
