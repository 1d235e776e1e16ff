"""`kubernaut-wfe emulator`: serve the Kubernetes API emulator until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kubernaut_wfe_tools.emulator import ApiEmulator, Companion

HELP = "Serve the Kubernetes API emulator (CRDs enforced) for tests and the sandbox."


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the emulator's options."""
    parser.add_argument(
        "--listen",
        default="127.0.0.1:0",
        metavar="HOST:PORT",
        help="address to serve on (port 0 = a free port; default %(default)s)",
    )
    parser.add_argument(
        "--kubeconfig-out",
        type=Path,
        metavar="FILE",
        help="write a kubeconfig (context 'emulator', no auth) pointing at the server",
    )
    parser.add_argument(
        "--crd",
        action="append",
        type=Path,
        default=None,
        metavar="PATH",
        help="a CRD YAML file to load (repeatable; default: the WorkflowExecution and Tekton CRDs)",
    )


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT` → (host, port); a bad value is a clear error."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"--listen must be HOST:PORT with a port 0..65535, got {text!r}")
    return host.removeprefix("[").removesuffix("]"), int(port)


def run(args: argparse.Namespace, companions: list[Companion] | None = None) -> int:
    """Serve until SIGINT/SIGTERM; exit 0 on a clean stop, 2 on bad options."""
    import asyncio

    try:
        host, port = parse_listen(args.listen)
    except ValueError as exc:
        print(f"kubernaut-wfe emulator: {exc}", file=sys.stderr)
        return 2
    from kubernaut_wfe_tools.emulator import ApiEmulator

    try:
        emulator = ApiEmulator(crd_paths=args.crd)
    except (OSError, ValueError, KeyError) as exc:
        print(f"kubernaut-wfe emulator: cannot load the CRDs: {exc}", file=sys.stderr)
        return 2
    emulator.companions.extend(companions or [])
    asyncio.run(_serve(emulator, host, port, args.kubeconfig_out))
    return 0


async def _serve(emulator: ApiEmulator, host: str, port: int, kubeconfig: Path | None) -> None:
    import asyncio
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with emulator.serving(host=host, port=port):
        if kubeconfig is not None:
            await asyncio.to_thread(emulator.write_kubeconfig, kubeconfig)
        print(f"emulator serving on {emulator.url}", flush=True)
        await stop.wait()


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(prog="kubernaut-wfe emulator", description=HELP)
    configure(_parser)
    sys.exit(run(_parser.parse_args()))
