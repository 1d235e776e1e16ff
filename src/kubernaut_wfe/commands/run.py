"""`kubernaut-wfe run`: the WorkflowExecution controller (kopf, in this process's event loop)."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from kubernaut_wfe.controller.operator import Controller
    from kubernaut_wfe.core.config import ControllerConfig, KeyNames, LoadedConfig

HELP = "Run the WorkflowExecution controller."

EXIT_CONFIG = 2
EXIT_STARTUP = 1
EXIT_LEADER_LOST = 3

MAX_MESSAGE_LINE = 400
"""An error line's bound: a hostile value (a megabyte of a name) is not echoed whole."""
_YAML_MARK = re.compile(r'\s+in "<[^">]*>", (line \d+, column \d+|position \d+)(:\n[^\n]*\n *\^)?')
"""Where PyYAML points in its errors: a line of its own, then a snippet and a caret."""


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
        parser.add_argument(f"--leader-elect-{name}", metavar="D", help=f"{meaning} ({default})")
    parser.add_argument(
        "--watch-timeout",
        metavar="D",
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
        "--log-format", choices=("json", "text"), help="log line format (json; text: key=value)"
    )


def overrides(args: argparse.Namespace) -> dict[str, str | bool | list[str] | None]:
    """The config keys the flags set (None = flag not given)."""
    return {
        "execution.namespace": args.execution_namespace,
        "execution.service_account": args.service_account,
        "execution.cooldown_period": args.cooldown_period,
        "audit.datastorage_url": args.datastorage_url,
        "controller.metrics_addr": args.metrics_bind_address,
        "controller.health_probe_addr": args.health_probe_bind_address,
        "controller.leader_election": args.leader_elect,
        "controller.leader_election_namespace": args.leader_election_namespace,
        "controller.leader_election_lease_duration": args.leader_elect_lease_duration,
        "controller.leader_election_renew_deadline": args.leader_elect_renew_deadline,
        "controller.leader_election_retry_period": args.leader_elect_retry_period,
        "controller.watch_timeout": args.watch_timeout,
        "controller.namespaces": args.namespaces,
        "logging.format": args.log_format,
    }


def run(args: argparse.Namespace) -> int:
    """Run until SIGTERM/SIGINT; 0 on a clean stop, 2 on bad configuration (an API server that
    cannot be used as configured included), 1 on start-up."""
    import asyncio

    from kubernaut_wfe.core.config import ConfigError, read_config

    try:
        text = args.config.read_text(encoding="utf-8") if args.config else None
        loaded = read_config(text, overrides(args))
        config = loaded.config
        _check_bind_addresses(config, loaded.names)
        _check_credentials(config, loaded.names)
    except OSError as error:
        return _fail(f"cannot read {args.config}: {error.strerror or error}")
    except UnicodeDecodeError:
        return _fail(f"cannot read {args.config}: not a text file (not UTF-8)")
    except RecursionError:
        return _fail("invalid configuration:", "<config file>: YAML nested too deeply")
    except ConfigError as error:
        return _fail("invalid configuration:", *error.problems)
    except ValueError as error:
        return _fail("invalid configuration:", str(error))
    from kubernaut_wfe.adapters.kube_connection import connect
    from kubernaut_wfe.adapters.kubeconfig import KubeConfigError

    try:
        # Its TLS files and token file are read now, before any endpoint.
        connection = connect(args.kubeconfig)
    except KubeConfigError as error:
        return _fail(str(error))
    # Only a start that gets this far loads the controller: a bad setting is refused sooner.
    from kubernaut_wfe.adapters.api_reach import ApiServerUnusableError
    from kubernaut_wfe.adapters.kube_errors import ApiError
    from kubernaut_wfe.controller.crdcheck import CrdCheckError
    from kubernaut_wfe.controller.leader import LeaderLostError
    from kubernaut_wfe.controller.logs import configure_logging
    from kubernaut_wfe.controller.operator import Controller

    configure_logging(config.logging.format, config.logging.level)
    _log_effective_configuration(args.config, loaded)
    controller = Controller(config, connection)
    try:
        asyncio.run(_serve(controller, args.config, text or "", overrides(args)))
    except ApiServerUnusableError as error:  # a setting no wait can make work: the kubelet restarts
        return _fail(str(error))
    except CrdCheckError as error:
        print(f"kubernaut-wfe run: {error}", file=sys.stderr)
        return EXIT_STARTUP
    except ApiError as error:  # the CRD check could not reach the API server, or was refused
        return _fail(f"cannot start: {error}", code=EXIT_STARTUP)
    except LeaderLostError as error:
        print(f"kubernaut-wfe run: lost leadership: {error}", file=sys.stderr)
        return EXIT_LEADER_LOST
    return 0


async def _serve(
    controller: Controller, config_file: Path | None, text: str, flags: Mapping[str, object]
) -> None:
    """Run the controller; with a config file (read as `text`), re-read it while running."""
    from kubernaut_wfe.controller.config_watch import ConfigFileWatcher
    from kubernaut_wfe.controller.logs import set_log_level

    watcher = None
    if config_file is not None:
        watcher = ConfigFileWatcher(
            config_file, flags, controller.config, text, apply_level=set_log_level
        )
        watcher.start()
    try:
        await controller.run()
    finally:
        if watcher is not None:
            await watcher.stop()


def _log_effective_configuration(config_file: Path | None, loaded: LoadedConfig) -> None:
    """One line with every setting in effect (file paths, never a secret's content), and the
    file's values the flags replaced."""
    import structlog

    from kubernaut_wfe.core.config import effective_settings, shown_value

    structlog.get_logger("kubernaut_wfe.config").info(
        "effective configuration",
        config_file=str(config_file) if config_file else None,
        settings=effective_settings(loaded.config),
        replaced_by_flags={
            key: shown_value(key, value) for key, value in loaded.replaced_by_flags.items()
        },
    )


def _fail(*lines: str, code: int = EXIT_CONFIG) -> int:
    """Print the error, each of `lines` as one bounded line (YAML's errors span several)."""
    shown = [_one_line(line) for line in lines]
    print("kubernaut-wfe run: " + "\n".join(shown), file=sys.stderr)
    return code


def _one_line(text: str) -> str:
    words = " ".join(_YAML_MARK.sub(r" (\1)", text).split())
    if len(words) <= MAX_MESSAGE_LINE:
        return words
    return words[: MAX_MESSAGE_LINE - 3] + "..."


def _check_credentials(config: ControllerConfig, names: KeyNames) -> None:
    """Fail at start-up, naming the setting, when a file the controller will read is not there
    or cannot be used (it is read again when it changes, so a rotated file is picked up later)."""
    import ssl

    from kubernaut_wfe.datastorage.credentials import CaBundle, FileToken

    files: tuple[tuple[str, str | None, type[FileToken | CaBundle]], ...] = (
        (names("audit.token_file"), config.audit.token_file, FileToken),
        (names("audit.ca_file"), config.audit.ca_file, CaBundle),
    )
    for key, path, kind in files:
        if path is None:
            continue
        try:
            kind(path).current()
        except ssl.SSLError as error:
            reason = error.reason or error
            raise ValueError(f"{key}: {path} is not a PEM CA bundle: {reason}") from None
        except OSError as error:
            raise ValueError(f"{key}: cannot read {path}: {error.strerror or error}") from None
        except UnicodeDecodeError:
            raise ValueError(f"{key}: {path} is not UTF-8 text") from None


def _check_bind_addresses(config: ControllerConfig, names: KeyNames) -> None:
    """Each probe address well formed and free to listen on, an error naming its setting."""
    from kubernaut_wfe.controller.health import parse_bind_address

    for key, address in (
        (names("controller.metrics_addr"), config.controller.metrics_addr),
        (names("controller.health_probe_addr"), config.controller.health_probe_addr),
    ):
        try:
            host, port = parse_bind_address(address)
        except ValueError as error:
            raise ValueError(f"{key}: {error}") from None
        _check_listen(key, host, port)


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


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(prog="kubernaut-wfe run", description=HELP)
    configure(_parser)
    sys.exit(run(_parser.parse_args()))
