"""The `kubernaut-wfe` command: one subcommand per module of `kubernaut_wfe.commands`.

Each command module defines `HELP` (one line), `configure(parser)` and `run(args) -> int`, and
keeps its heavy imports inside `run`, so that `kubernaut-wfe render` never loads kopf and the
controller never loads the emulator.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

from kubernaut_wfe import __version__

COMMANDS: dict[str, str] = {
    "run": "kubernaut_wfe.commands.run",
    "sandbox": "kubernaut_wfe.commands.sandbox",
    "render": "kubernaut_wfe.commands.render",
    "validate": "kubernaut_wfe.commands.validate",
    "emulator": "kubernaut_wfe.commands.emulator",
    "tekton-simulator": "kubernaut_wfe.commands.tekton_simulator",
    "audit-server": "kubernaut_wfe.commands.audit_server",
}


def _load(module_name: str) -> ModuleType:
    return importlib.import_module(module_name)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kubernaut-wfe",
        description="The kubernaut WorkflowExecution controller and its tools.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in COMMANDS.items():
        module = _load(module_name)
        sub = commands.add_parser(name, help=module.HELP, description=module.HELP)
        module.configure(sub)
        sub.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args._module.run(args)
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
