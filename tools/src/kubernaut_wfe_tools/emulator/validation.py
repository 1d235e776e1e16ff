"""The emulator's bridge to `kubernaut_wfe_tools.crdschema`: pruning, defaulting, validation."""

from __future__ import annotations

from typing import Any, Protocol


class FieldErrorLike(Protocol):
    """What the emulator reads from one validation error."""

    @property
    def field(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def message(self) -> str: ...


class ObjectSchema(Protocol):
    """The part of `crdschema.CustomResourceSchema` the emulator uses."""

    def prune(self, obj: dict[str, Any]) -> tuple[dict[str, Any], list[str]]: ...

    def default(self, obj: dict[str, Any]) -> dict[str, Any]: ...

    def validate(self, obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[Any]: ...


def schema_for(crd: dict[str, Any], version: str) -> ObjectSchema:
    """The structural schema of one version of a CRD, compiled by `crdschema`."""
    from kubernaut_wfe_tools.crdschema import CustomResourceSchema

    schema: ObjectSchema = CustomResourceSchema.from_crd(crd, version)
    return schema
