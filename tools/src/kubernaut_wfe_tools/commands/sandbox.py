"""`kubernaut-wfe sandbox`: the whole stack on 127.0.0.1 with a live timeline of every WFE."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "Run the API emulator, Tekton simulator, audit service and controller locally."

API_CHOICES = ("emulator", "cluster")

DEFAULT_STATE_DIR = Path(".sandbox")


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port 0..65535")
    return int(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be more than 0 seconds")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the sandbox's options."""
    parser.add_argument(
        "--api",
        choices=API_CHOICES,
        default="emulator",
        help="emulator (default): the in-process Kubernetes API emulator, nothing to build; "
        "cluster: a real kube-apiserver, etcd and kube-controller-manager under "
        "STATE_DIR/cluster (`make test-cluster-build` first, which needs Go), the controller on "
        "its ServiceAccount",
    )
    parser.add_argument(
        "--apply",
        nargs="*",
        type=Path,
        metavar="FILE",
        help="YAML files to create once ready (multi-document; default: every examples/*.yaml; "
        "--apply with no file applies nothing)",
    )
    parser.add_argument(
        "--no-apply", action="store_true", help="apply nothing (same as --apply with no file)"
    )
    parser.add_argument(
        "--exit-when-done",
        action="store_true",
        help="exit once every applied WFE is Completed/Failed with its audit no longer pending",
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=120.0,
        metavar="SECONDS",
        help="with --exit-when-done: give up (exit 1) after this long (default %(default)s)",
    )
    parser.add_argument(
        "--output",
        choices=("text", "json"),
        default="text",
        help="json: print one JSON document {workflowExecutions, auditEvents} on stdout at exit",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        metavar="DIR",
        help="kubeconfig, audit.db, logs and sandbox.json go here (default %(default)s)",
    )
    parser.add_argument(
        "--cooldown-period", default="10s", metavar="D", help="the controller's target cooldown"
    )
    parser.add_argument(
        "--execution-namespace",
        default="kubernaut-workflows",
        metavar="NS",
        help="namespace of the PipelineRuns (default %(default)s)",
    )
    for name, what in (
        ("api", "the Kubernetes API emulator"),
        ("audit", "the audit service"),
        ("metrics", "the controller's /metrics"),
        ("health", "the controller's /healthz and /readyz"),
    ):
        parser.add_argument(
            f"--{name}-port",
            type=_port,
            default=0,
            metavar="PORT",
            help=f"port of {what} on 127.0.0.1 (default: a free one)"
            + (" (--api emulator only)" if name == "api" else ""),
        )
    parser.add_argument(
        "--ready-timeout",
        type=_seconds,
        default=60.0,
        metavar="SECONDS",
        help="how long the controller may take to become ready (default %(default)s)",
    )


def files_to_apply(args: argparse.Namespace, cwd: Path) -> tuple[list[Path], str | None]:
    """The manifests to apply, and a note for the user when the examples are not there."""
    from kubernaut_wfe_tools.sandbox.manifests import example_files, find_examples_dir

    if args.no_apply:
        return [], None
    if args.apply is not None:
        return list(args.apply), None
    examples = find_examples_dir(cwd)
    if examples is None:
        return [], "no examples/ directory found: nothing applied (pass --apply FILE...)"
    return example_files(examples), None


def cluster_binaries(args: argparse.Namespace) -> tuple[Path | None, str | None]:
    """With `--api cluster`: the real API server's binaries, or the one-line reason it cannot
    run (exit 2 before anything starts). (None, None) on the emulator."""
    if args.api != "cluster":
        return None, None
    if args.api_port:
        return None, "--api-port applies to --api emulator only (the real server picks its port)"
    from kubernaut_wfe_tools.sandbox.cluster import NOT_BUILT, find_binaries

    binaries = find_binaries()
    return (binaries, None) if binaries is not None else (None, NOT_BUILT)


def run(args: argparse.Namespace) -> int:
    """Run the sandbox; 0 on a clean stop or when everything applied is done, 1 otherwise, 2 when
    it cannot start (a missing file, `--api cluster` without the built binaries)."""
    import asyncio

    from kubernaut_wfe_tools.sandbox import SandboxOptions, run_sandbox
    from kubernaut_wfe_tools.sandbox.stack import StackOptions

    files, note = files_to_apply(args, Path.cwd())
    if note:
        print(f"kubernaut-wfe sandbox: {note}", file=sys.stderr)
    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        print(f"kubernaut-wfe sandbox: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    binaries, problem = cluster_binaries(args)
    if problem is not None:
        print(f"kubernaut-wfe sandbox: {problem}", file=sys.stderr)
        return 2
    options = SandboxOptions(
        stack=StackOptions(
            state_dir=args.state_dir,
            api=args.api,
            cluster_binaries=binaries,
            api_port=args.api_port,
            audit_port=args.audit_port,
            metrics_port=args.metrics_port,
            health_port=args.health_port,
            cooldown_period=args.cooldown_period,
            execution_namespace=args.execution_namespace,
            ready_timeout=args.ready_timeout,
        ),
        apply=files,
        exit_when_done=args.exit_when_done,
        timeout=args.timeout,
        output_json=args.output == "json",
        live=sys.stderr.isatty(),
    )
    return asyncio.run(run_sandbox(options))


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(prog="kubernaut-wfe sandbox", description=HELP)
    configure(_parser)
    sys.exit(run(_parser.parse_args()))
