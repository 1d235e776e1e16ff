"""`kubernaut-wfe render`: print the PipelineRun the controller would create for a WFE."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "Print the PipelineRun the controller would create for a WorkflowExecution YAML."

EXIT_INVALID = 1
EXIT_UNREADABLE = 2


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-f", "--filename", required=True, type=Path, help="WorkflowExecution YAML file"
    )
    parser.add_argument(
        "--config", type=Path, default=None, help="controller configuration YAML (spec §6)"
    )


def run(args: argparse.Namespace) -> int:
    """Render, or list every validation error. A WFE read offline usually has no
    `metadata.uid`: the uid annotation is then rendered as an empty string. Without an API
    server there is no discovery to resolve the target's kind with, so the run is named after
    the target as written (the controller's name when the kind is spelled canonically)."""
    import yaml

    from kubernaut_wfe.commands.manifests import (
        UnreadableManifestError,
        parse_manifests,
        read_manifest_text,
    )
    from kubernaut_wfe.core.config import ConfigError, load_config
    from kubernaut_wfe.core.pipelinerun import build_pipelinerun
    from kubernaut_wfe.core.validation import identity_problems, parse_wfe, validate_wfe

    filename = str(args.filename)
    try:
        documents = parse_manifests(read_manifest_text(filename), filename)
    except UnreadableManifestError as error:
        print(f"render: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    if len(documents) != 1 or not isinstance(documents[0], dict):
        print(f"render: {filename}: not one WorkflowExecution (one YAML mapping)", file=sys.stderr)
        return EXIT_UNREADABLE
    raw = documents[0]
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
    problems = identity_problems(raw) + validate_wfe(
        raw,
        allowed_service_accounts=config.execution.runner_service_accounts,
        default_service_account=config.execution.service_account,
    )
    if problems:
        for spec_problem in problems:
            print(str(spec_problem), file=sys.stderr)
        return EXIT_INVALID
    pipelinerun = build_pipelinerun(parse_wfe(raw), config)
    sys.stdout.write(yaml.safe_dump(pipelinerun, sort_keys=False, default_flow_style=False))
    return 0
