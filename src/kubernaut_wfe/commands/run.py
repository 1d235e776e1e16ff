"""`kubernaut-wfe run`: the WorkflowExecution controller (kopf, in this process's event loop)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

HELP = "Run the WorkflowExecution controller."

EXIT_CONFIG = 2
EXIT_STARTUP = 1


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the controller's flags (spec §6); flags override the config file."""
    parser.add_argument("--kubeconfig", metavar="FILE", help="kubeconfig (default: in-cluster)")
    parser.add_argument("--config", type=Path, metavar="FILE", help="controller config YAML")
    parser.add_argument("--execution-namespace", metavar="NS", help="namespace of PipelineRuns")
    parser.add_argument("--service-account", metavar="SA", help="runner service account")
    parser.add_argument(
        "--cooldown-period", metavar="D", help="lock hold time after a run (5m; bare = minutes)"
    )
    parser.add_argument("--datastorage-url", metavar="URL", help="DataStorage base URL")
    parser.add_argument("--metrics-bind-address", metavar="ADDR", help="[HOST]:PORT of /metrics")
    parser.add_argument(
        "--health-probe-bind-address", metavar="ADDR", help="[HOST]:PORT of /healthz, /readyz"
    )
    parser.add_argument(
        "--leader-elect",
        action="store_const",
        const=True,
        default=None,
        help="hold a Lease before reconciling (not implemented yet: runs standalone)",
    )
    parser.add_argument(
        "--namespace",
        action="append",
        dest="namespaces",
        metavar="NS",
        help="watch WorkflowExecutions in this namespace (repeatable; default: all)",
    )
    parser.add_argument(
        "--log-format", choices=("json", "text"), default="json", help="log line format"
    )


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The config keys the flags set (None = flag not given)."""
    return {
        "execution.namespace": args.execution_namespace,
        "execution.service_account": args.service_account,
        "execution.cooldown_period": args.cooldown_period,
        "audit.datastorage_url": args.datastorage_url,
        "controller.metrics_addr": args.metrics_bind_address,
        "controller.health_probe_addr": args.health_probe_bind_address,
        "controller.leader_election": args.leader_elect,
        "controller.namespaces": args.namespaces,
    }


def run(args: argparse.Namespace) -> int:
    """Run until SIGTERM/SIGINT; 0 on a clean stop, 2 on bad configuration, 1 on start-up."""
    import asyncio

    from kubernaut_wfe.adapters.kubeconfig import KubeConfigError, auto_config
    from kubernaut_wfe.controller.crdcheck import CrdCheckError
    from kubernaut_wfe.controller.logs import configure_logging
    from kubernaut_wfe.controller.operator import Controller
    from kubernaut_wfe.controller.probes import parse_bind_address
    from kubernaut_wfe.core.config import ConfigError, load_config

    try:
        text = args.config.read_text(encoding="utf-8") if args.config else None
        config = load_config(text, overrides(args))
        parse_bind_address(config.controller.metrics_addr)
        parse_bind_address(config.controller.health_probe_addr)
    except (OSError, UnicodeDecodeError) as error:
        print(f"kubernaut-wfe run: cannot read {args.config}: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except (ConfigError, ValueError) as error:
        print(f"kubernaut-wfe run: invalid configuration:\n{error}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        kube_config = auto_config(args.kubeconfig)
    except KubeConfigError as error:
        print(f"kubernaut-wfe run: {error}", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(args.log_format)
    if config.controller.leader_election:
        import structlog

        structlog.get_logger("kubernaut_wfe.controller").warning(
            "leader election is not implemented yet; running standalone"
        )
    try:
        asyncio.run(Controller(config, kube_config).run())
    except CrdCheckError as error:
        print(f"kubernaut-wfe run: {error}", file=sys.stderr)
        return EXIT_STARTUP
    return 0


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(prog="kubernaut-wfe run", description=HELP)
    configure(_parser)
    sys.exit(run(_parser.parse_args()))
