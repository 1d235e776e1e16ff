"""`kubernaut-wfe render`: print the run the controller would create for a WFE (a PipelineRun,
or a Job for `executionEngine: job`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = (
    "Print the run the controller would create for each WorkflowExecution of a YAML file"
    " (a PipelineRun, or a Job for executionEngine: job)."
)

EXIT_INVALID = 1
EXIT_UNREADABLE = 2


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-f",
        "--filename",
        required=True,
        type=Path,
        help="YAML file of one or more WorkflowExecutions",
    )
    parser.add_argument(
        "--config", type=Path, default=None, help="controller configuration YAML (spec §6)"
    )


def run(args: argparse.Namespace) -> int:
    """Render every WorkflowExecution of the file (a YAML stream), or list each one's validation
    errors. A WFE that no engine of this controller runs is noted on stderr, not rendered.

    A WFE read offline usually has no `metadata.uid`: the uid annotation is then rendered as an
    empty string. Without an API server there is no discovery to resolve the target's kind with,
    so the run is named after the target as written (the controller's name when the kind is
    spelled canonically)."""
    from datetime import UTC, datetime

    import yaml

    from kubernaut_wfe.commands.manifests import (
        UnreadableManifestError,
        parse_manifests,
        read_manifest_text,
    )
    from kubernaut_wfe.constants import ExecutionEngine
    from kubernaut_wfe.core.config import ConfigError, load_config
    from kubernaut_wfe.core.engines import engine_of, refusal
    from kubernaut_wfe.core.job import build_job
    from kubernaut_wfe.core.pipelinerun import build_pipelinerun
    from kubernaut_wfe.core.validation import configured_problems, identity_problems, parse_wfe

    filename = str(args.filename)
    try:
        documents = parse_manifests(read_manifest_text(filename), filename)
    except UnreadableManifestError as error:
        print(f"render: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    numbered = list(enumerate(documents, 1))
    if not numbered or any(not isinstance(doc, dict) for _, doc in numbered):
        print(
            f"render: {filename}: not a stream of WorkflowExecutions (YAML mappings)",
            file=sys.stderr,
        )
        return EXIT_UNREADABLE
    try:
        config_text = args.config.read_text(encoding="utf-8") if args.config else None
        config = load_config(config_text)
    except OSError as error:
        print(f"render: cannot read {args.config}: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    except ConfigError as error:
        for line in error.problems:
            print(f"render: config: {line}", file=sys.stderr)
        return EXIT_UNREADABLE
    runs = []
    exit_code = 0
    for number, raw in numbered:
        where = f"{filename}:doc {number}: {_object_name(raw)}"
        problems = identity_problems(raw) + configured_problems(raw, config)
        if problems:
            for spec_problem in problems:
                print(f"{where}: {spec_problem}", file=sys.stderr)
            exit_code = EXIT_INVALID
            continue
        wfe = parse_wfe(raw)
        if (refused := refusal(wfe.spec)) is not None:
            reason, message = refused
            print(f"{where}: not rendered ({reason}): {message}", file=sys.stderr)
            continue
        build = build_job if engine_of(wfe.spec) == ExecutionEngine.JOB else build_pipelinerun
        runs.append(build(wfe, config, now=datetime.now(UTC)))
    sys.stdout.write(yaml.safe_dump_all(runs, sort_keys=False, default_flow_style=False))
    return exit_code


def _object_name(raw: dict[str, object]) -> str:
    metadata = raw.get("metadata")
    if not isinstance(metadata, dict):
        return "?/?"
    return f"{metadata.get('namespace') or 'default'}/{metadata.get('name') or '?'}"
