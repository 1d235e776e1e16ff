"""`kubernaut-wfe run`: the WorkflowExecution controller (kopf, in this process's event loop)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

HELP = "Run the WorkflowExecution controller."

EXIT_CONFIG = 2
EXIT_STARTUP = 1
EXIT_LEADER_LOST = 3


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
        help="hold a Lease before reconciling (standbys wait for it)",
    )
    parser.add_argument(
        "--leader-election-namespace",
        metavar="NS",
        help="namespace of the Lease (default: $POD_NAMESPACE, else the kubeconfig's)",
    )
    for name, default, meaning in (
        ("lease-duration", "15s", "how long a Lease is valid without renewal"),
        ("renew-deadline", "10s", "how long the leader retries renewing before it gives up"),
        ("retry-period", "2s", "interval between acquire and renew attempts"),
    ):
        parser.add_argument(
            f"--leader-elect-{name}", metavar="D", default=default, help=f"{meaning} ({default})"
        )
    parser.add_argument(
        "--watch-timeout",
        metavar="D",
        default="5m",
        help="server-side timeout of each watch request; a dead watch fails /healthz after it (5m)",
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
    from kubernaut_wfe.controller.leader import LeaderLostError
    from kubernaut_wfe.controller.logs import configure_logging
    from kubernaut_wfe.controller.operator import Controller
    from kubernaut_wfe.controller.probes import parse_bind_address
    from kubernaut_wfe.core.config import ConfigError, load_config

    try:
        text = args.config.read_text(encoding="utf-8") if args.config else None
        config = load_config(text, overrides(args))
        for key, address in (
            ("controller.metrics_addr", config.controller.metrics_addr),
            ("controller.health_probe_addr", config.controller.health_probe_addr),
        ):
            _check_listen(key, *parse_bind_address(address))
        for key, path in (
            ("audit.token_file", config.audit.token_file),
            ("audit.ca_file", config.audit.ca_file),
        ):
            _check_readable(key, path)
        timings = _operation_timings(args)
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
    try:
        election = _election_settings(args, config, kube_config.namespace, timings)
    except ValueError as error:
        print(f"kubernaut-wfe run: invalid configuration:\n{error}", file=sys.stderr)
        return EXIT_CONFIG
    controller = Controller(
        config, kube_config, leader_election=election, watch_timeout=timings["watch_timeout"]
    )
    try:
        asyncio.run(controller.run())
    except CrdCheckError as error:
        print(f"kubernaut-wfe run: {error}", file=sys.stderr)
        return EXIT_STARTUP
    except LeaderLostError as error:
        print(f"kubernaut-wfe run: lost leadership: {error}", file=sys.stderr)
        return EXIT_LEADER_LOST
    return 0


def _check_readable(key: str, path: str | None) -> None:
    """Fail at start-up, naming the setting, when a file the controller will read is not
    there (it is read again on every use, so a rotated file is picked up later)."""
    if path is None:
        return
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except OSError as error:
        raise ValueError(f"{key}: cannot read {path}: {error.strerror or error}") from None


def _check_listen(key: str, host: str, port: int) -> None:
    """Fail at start-up, naming the setting, when an address cannot be listened on (in use,
    not an address of this host); the controller binds it for real later."""
    import socket

    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as error:
        reason = error.strerror or str(error)
        raise ValueError(f"{key}: cannot listen on {host or '*'}:{port}: {reason}") from None


def _operation_timings(args: argparse.Namespace) -> dict[str, float]:
    """The duration flags in seconds; ValueError names the bad flag."""
    from kubernaut_wfe.core.durations import DurationError, parse_duration

    timings = {}
    for key in ("leader_elect_lease_duration", "leader_elect_renew_deadline",
                "leader_elect_retry_period", "watch_timeout"):  # fmt: skip
        flag = "--" + key.replace("_", "-")
        try:
            seconds = parse_duration(getattr(args, key)).total_seconds()
        except DurationError as error:
            raise ValueError(f"{flag}: {error}") from None
        if seconds <= 0:
            raise ValueError(f"{flag}: must be greater than zero")
        timings[key] = seconds
    return timings


def _election_settings(
    args: argparse.Namespace, config: Any, kubeconfig_namespace: str, timings: dict[str, float]
) -> Any:
    """The Lease's place and timings, or None without leader election."""
    from kubernaut_wfe.controller.leader import LeaderElectionSettings, election_namespace

    if not config.controller.leader_election:
        return None
    return LeaderElectionSettings(
        namespace=election_namespace(args.leader_election_namespace, kubeconfig_namespace),
        name=config.controller.leader_election_id,
        lease_duration=timings["leader_elect_lease_duration"],
        renew_deadline=timings["leader_elect_renew_deadline"],
        retry_period=timings["leader_elect_retry_period"],
    )


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(prog="kubernaut-wfe run", description=HELP)
    configure(_parser)
    sys.exit(run(_parser.parse_args()))
