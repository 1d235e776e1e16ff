"""A throw-away PostgreSQL cluster in a temporary directory, for tests and benchmarks.

`initdb` refuses to run as root, so when we are root the cluster belongs to the `postgres` user
and every server binary runs through `runuser`. Durability is switched off: the data dies with the
test session anyway, and fsync would dominate the run time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kubernaut_wfe_tools.processes import free_port

SERVER_USER = "postgres"
DATABASE = "audit"


class PostgresUnavailableError(RuntimeError):
    """The PostgreSQL server binaries (initdb, pg_ctl) are not installed."""


def find_bindir() -> Path:
    """The directory of `initdb` and `pg_ctl`: `$PG_BINDIR`, the newest Debian install, PATH."""
    candidates = [Path(os.environ["PG_BINDIR"])] if os.environ.get("PG_BINDIR") else []
    candidates += sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
        reverse=True,
    )
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    raise PostgresUnavailableError("no PostgreSQL server binaries (initdb, pg_ctl) found")


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", SERVER_USER, "--", *command]
    return command


def _run(command: list[str]) -> None:
    result = subprocess.run(_as_server_user(command), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed ({result.returncode}): {result.stderr or result.stdout}"
        )


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """Start a private PostgreSQL cluster on 127.0.0.1 and yield its database URL; stop and
    delete it afterwards."""
    bindir = find_bindir()
    root = Path(tempfile.mkdtemp(prefix="kwfe-postgres-"))
    data, sockets, log = root / "data", root / "sockets", root / "server.log"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, user=SERVER_USER)
        shutil.chown(sockets, user=SERVER_USER)
    port = free_port()
    started = False
    try:
        _run(
            [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", SERVER_USER,
             "-E", "UTF8", "--locale=C", "--no-sync"]
        )  # fmt: skip
        options = (
            f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        _run(
            [str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start"]
        )
        started = True
        _run(
            [str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", SERVER_USER,
             DATABASE]
        )  # fmt: skip
        yield f"postgresql://{SERVER_USER}@127.0.0.1:{port}/{DATABASE}"
    finally:
        if started:
            _run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(root, ignore_errors=True)
