"""A problem of a WFE's spec, as validation reports it (its own module: the rule modules that
validation calls report problems too)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SpecProblem:
    """A bad field: `field` is its path (`spec.targetResource`); `message` says what to fix."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"
