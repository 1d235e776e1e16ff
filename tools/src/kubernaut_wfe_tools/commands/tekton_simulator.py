"""`kubernaut-wfe tekton-simulator`: play Tekton v1.7 against a Kubernetes API (the emulator)."""

from __future__ import annotations

import argparse
import asyncio
import logging

HELP = "Play Tekton v1.7 for the hello-world and failing test bundles against a Kubernetes API."


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options."""
    parser.add_argument(
        "--server",
        required=True,
        metavar="URL",
        help="base URL of the Kubernetes API, e.g. http://127.0.0.1:8001 (no authentication)",
    )
    parser.add_argument(
        "--namespace",
        action="append",
        dest="namespaces",
        metavar="NAME",
        help="watch PipelineRuns in this namespace only (repeatable; default: all namespaces)",
    )


def run(args: argparse.Namespace) -> int:
    """Run until interrupted."""
    from kubernaut_wfe_tools.tekton_simulator import run_simulator

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    asyncio.run(run_simulator(args.server, namespaces=args.namespaces))
    return 0
