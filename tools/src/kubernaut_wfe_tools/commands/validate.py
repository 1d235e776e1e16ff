"""`kubernaut-wfe validate`: check WorkflowExecution manifests offline, as `kubectl apply` would.

Each WorkflowExecution document is checked against the CRD schema (types, enums, patterns, bounds,
CEL rules, unknown fields as under kubectl's strict field validation) and against the controller's
own spec rules (timeout bounds, service-account allow-list, image reference), which the CRD cannot
express. Exit status: 0 all valid, 1 some document invalid, 2 a file or the CRD could not be read.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from kubernaut_wfe_tools.crdschema import CustomResourceSchema

HELP = "Validate WorkflowExecution manifests against the CRD schema and the controller's rules."
EXIT_OK = 0
EXIT_INVALID = 1
EXIT_UNREADABLE = 2


class UnreadableInputError(Exception):
    """A file or CRD that cannot be read or parsed (exit 2)."""


@dataclass(frozen=True)
class Problem:
    """One reason a document is rejected."""

    field: str
    message: str


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options."""
    parser.add_argument(
        "-f",
        "--filename",
        dest="filenames",
        action="extend",
        nargs="+",
        required=True,
        metavar="FILE",
        help="YAML files with one or more documents each; '-' reads stdin (repeatable)",
    )
    parser.add_argument(
        "--crd",
        type=Path,
        metavar="PATH",
        help="WorkflowExecution CRD file to validate against (default: the packaged CRD)",
    )
    parser.add_argument(
        "--allowed-service-account",
        dest="allowed_service_accounts",
        action="append",
        default=[],
        metavar="NAME",
        help="runner service account the controller allows besides its default (repeatable)",
    )


def run(args: argparse.Namespace) -> int:
    """Validate every document of every file; print one line per document or problem."""
    try:
        schemas = _load_schemas(args.crd)
    except UnreadableInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    allowed = frozenset(args.allowed_service_accounts)
    worst = EXIT_OK
    for filename in args.filenames:
        try:
            documents = _read_documents(filename)
        except UnreadableInputError as error:
            print(f"error: {error}", file=sys.stderr)
            worst = EXIT_UNREADABLE
            continue
        if not documents:
            print(f"{filename}: no documents to validate")
            worst = max(worst, EXIT_INVALID)
        for number, document in documents:
            if not _report(
                filename, number, document, schemas=schemas, allowed=allowed, out=sys.stdout
            ):
                worst = max(worst, EXIT_INVALID)
    return worst


def _report(
    filename: str,
    number: int,
    document: Any,
    *,
    schemas: Mapping[str, CustomResourceSchema],
    allowed: frozenset[str],
    out: TextIO,
) -> bool:
    where = f"{filename}:doc {number}"
    if not isinstance(document, Mapping):
        print(f"{where}: not a Kubernetes object (a YAML mapping)", file=out)
        return False
    metadata = document.get("metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    namespace = str(metadata.get("namespace") or "")
    name = str(metadata.get("name") or metadata.get("generateName") or "")
    problems = validate_document(document, schemas, allowed)
    if not problems:
        from kubernaut_wfe.core.engines import refusal
        from kubernaut_wfe.core.validation import parse_wfe

        kind = document.get("kind")
        refused = refusal(parse_wfe(document).spec)
        note = f" (this controller fails it as {refused[0]}: {refused[1]})" if refused else ""
        print(f"{filename}: {kind}/{namespace}/{name}: OK{note}", file=out)
        return True
    for problem in problems:
        print(f"{where}: {namespace}/{name}: {problem.field}: {problem.message}", file=out)
    return False


def validate_document(
    document: Mapping[str, Any],
    schemas: Mapping[str, CustomResourceSchema],
    allowed_service_accounts: frozenset[str] = frozenset(),
) -> list[Problem]:
    """Every problem of one document: kind, metadata, schema (strict) and controller rules."""
    from kubernaut_wfe.constants import GROUP, KIND
    from kubernaut_wfe.core.validation import validate_wfe

    api_version = document.get("apiVersion")
    if document.get("kind") != KIND:
        return [Problem("kind", f"expected {KIND}, got {document.get('kind')!r}")]
    group, _, version = str(api_version or "").rpartition("/")
    schema = schemas.get(version) if group == GROUP else None
    if schema is None:
        served = ", ".join(f"{GROUP}/{v}" for v in schemas)
        return [Problem("apiVersion", f"expected one of {served}, got {api_version!r}")]
    problems = _metadata_problems(document.get("metadata"))
    pruned, unknown = schema.prune(document)
    problems += [
        Problem(path.lstrip("."), f'unknown field "{path.lstrip(".")}"') for path in unknown
    ]
    # checked as the API server stores it: pruned, and nulls it does not keep dropped
    stored = schema.default(pruned)
    problems += [Problem(error.field, error.message) for error in schema.validate(stored)]
    reported = [_normalised(problem.field) for problem in problems]
    for spec_problem in validate_wfe(stored, allowed_service_accounts=allowed_service_accounts):
        field = _normalised(spec_problem.field)
        if not any(_related(field, seen) for seen in reported):
            problems.append(Problem(spec_problem.field, spec_problem.message))
    return problems


def _metadata_problems(metadata: Any) -> list[Problem]:
    from kubernaut_wfe_tools.crdschema import validate_object_meta

    return [Problem(error.field, error.message) for error in validate_object_meta(metadata)]


def _normalised(field: str) -> str:
    return field.replace("[", ".").replace("]", "")


def _related(field: str, other: str) -> bool:
    """Same field, or one inside the other (the controller re-reports what the schema found)."""
    return field == other or field.startswith(f"{other}.") or other.startswith(f"{field}.")


def _load_schemas(crd_path: Path | None) -> dict[str, CustomResourceSchema]:
    from kubernaut_wfe.constants import CRD_NAME
    from kubernaut_wfe_tools.crdschema import (
        CustomResourceSchema,
        RuleCompileError,
        load_crd_documents,
        packaged_crd_path,
    )

    path = crd_path or packaged_crd_path()
    try:
        crds = load_crd_documents(path)
    except (OSError, ValueError) as error:
        raise UnreadableInputError(f"cannot read CRD {path}: {error}") from error
    crd = next((c for c in crds if c.get("metadata", {}).get("name") == CRD_NAME), None)
    if crd is None:
        raise UnreadableInputError(f"{path} holds no CustomResourceDefinition {CRD_NAME}")
    try:
        return CustomResourceSchema.for_served_versions(crd)
    except (RuleCompileError, ValueError) as error:
        raise UnreadableInputError(f"{path}: unusable CRD: {error}") from error


def _read_documents(filename: str) -> list[tuple[int, Any]]:
    from kubernaut_wfe.commands.manifests import (
        UnreadableManifestError,
        parse_manifests,
        read_manifest_text,
    )

    try:
        documents = parse_manifests(read_manifest_text(filename), filename)
    except UnreadableManifestError as error:
        raise UnreadableInputError(str(error)) from None
    return list(enumerate(documents, start=1))
