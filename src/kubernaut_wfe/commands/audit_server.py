"""`kubernaut-wfe audit-server`: the DataStorage-compatible audit service, for development/tests.

Listens on 0.0.0.0:8080 by default, the port the platform's DataStorage uses, so that the same
Service definition fits the container; pass `--listen 127.0.0.1:8080` to stay local.
"""

from __future__ import annotations

import argparse
import re
import sys

HELP = "Run the DataStorage-compatible audit service (SQLite or PostgreSQL storage)."
DEFAULT_LISTEN = "0.0.0.0:8080"
"""Every interface: inside a container the port is only reachable that way."""
DEFAULT_DATABASE = "sqlite:///audit-events.db"
"""In the working directory. Kept here, not in the service's package: `configure` runs for every
command of the CLI, and importing the service would load it into the controller too."""


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT` (`[::1]:8080` for IPv6) into host and port; ValueError if malformed."""
    host, _, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{text!r} is not HOST:PORT")
    return host, int(port)


def _listen_argument(text: str) -> tuple[str, int]:
    try:
        return parse_listen(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def redact(url: str) -> str:
    """The database URL with any password replaced by `***`."""
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", url)


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's options."""
    parser.add_argument(
        "--listen",
        type=_listen_argument,
        default=DEFAULT_LISTEN,
        metavar="HOST:PORT",
        help=f"address to listen on (default {DEFAULT_LISTEN}; port 0 picks a free one)",
    )
    parser.add_argument(
        "--database",
        default=DEFAULT_DATABASE,
        metavar="URL",
        help=(
            "sqlite:///relative.db, sqlite:////absolute.db, sqlite:///:memory: or "
            f"postgresql://user@host:port/db (default {DEFAULT_DATABASE})"
        ),
    )


def _configure_logging() -> None:
    """JSON lines on stderr, for structlog's loggers and the standard library's (aiohttp's)."""
    import logging

    import structlog
    from structlog.typing import Processor

    stamp = structlog.processors.TimeStamper(fmt="iso", utc=True)
    render: list[Processor] = [
        structlog.processors.format_exc_info,
        structlog.processors.JSONRenderer(),
    ]
    structlog.configure(
        processors=[structlog.processors.add_log_level, stamp, *render],
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                stamp,
            ],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *render],
        )
    )
    logging.getLogger().handlers[:] = [handler]


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM; print the URL once listening."""
    import asyncio

    from kubernaut_wfe.audit_service.server import serve
    from kubernaut_wfe.audit_service.store import StoreError

    _configure_logging()
    host, port = args.listen

    def announce(url: str) -> None:
        print(f"audit service listening on {url} (database {redact(args.database)})", flush=True)

    try:
        asyncio.run(serve(host, port, args.database, on_ready=announce))
    except (StoreError, ValueError, OSError) as error:
        print(f"audit-server: {error}", file=sys.stderr)
        return 1
    return 0
