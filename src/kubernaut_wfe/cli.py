"""The `kubernaut-wfe` command: one subcommand per command module.

Each command module defines `HELP` (one line), `configure(parser)` and `run(args) -> int`, and
keeps its heavy imports inside `run`, so that `kubernaut-wfe render` never loads kopf. The
product's own commands are listed here; other installed distributions add theirs through the
`kubernaut_wfe.commands` entry-point group (the development tools add `sandbox`, `emulator`,
`tekton-simulator` and `validate`), so a command is offered only where it can run.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from types import ModuleType

from kubernaut_wfe import __version__

COMMAND_GROUP = "kubernaut_wfe.commands"

COMMANDS: dict[str, str] = {
    "run": "kubernaut_wfe.commands.run",
    "render": "kubernaut_wfe.commands.render",
    "audit-server": "kubernaut_wfe.commands.audit_server",
}


def available_commands() -> dict[str, str]:
    """Command name -> module: the product's, then those other installed distributions add (a
    plugin never replaces a product command)."""
    commands = dict(COMMANDS)
    for entry in sorted(entry_points(group=COMMAND_GROUP), key=lambda entry: entry.name):
        commands.setdefault(entry.name, entry.value)
    return commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kubernaut-wfe",
        description="The kubernaut WorkflowExecution controller and its tools.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in available_commands().items():
        module: ModuleType = importlib.import_module(module_name)
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
