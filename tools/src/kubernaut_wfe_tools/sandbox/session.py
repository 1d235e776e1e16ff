"""One sandbox session: start the stack, apply manifests, watch every WFE, stop cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import httpx

from kubernaut_wfe.constants import API_VERSION, KIND
from kubernaut_wfe_tools.processes import ProcessError
from kubernaut_wfe_tools.sandbox.display import Display
from kubernaut_wfe_tools.sandbox.kubeapi import KubeApi, KubeApiError
from kubernaut_wfe_tools.sandbox.manifests import (
    Manifest,
    ManifestError,
    load_manifests,
    namespaces_needed,
)
from kubernaut_wfe_tools.sandbox.report import audit_events_for
from kubernaut_wfe_tools.sandbox.stack import (
    Stack,
    StackError,
    StackOptions,
    running_stack,
    start_controller,
)
from kubernaut_wfe_tools.sandbox.timeline import WfeView, describe_changes, view_of, wfe_key

EXIT_OK = 0
EXIT_FAILED = 1


@dataclass(frozen=True)
class SandboxOptions:
    stack: StackOptions
    apply: list[Path] = field(default_factory=list)
    exit_when_done: bool = False
    timeout: float = 120.0
    output_json: bool = False
    live: bool = False


@dataclass
class _Watch:
    """Every WFE the sandbox has seen, and the ones it applied itself."""

    views: dict[str, WfeView] = field(default_factory=dict)
    tracked: set[str] = field(default_factory=set)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def stuck(self) -> list[str]:
        """Tracked WFEs that are not settled yet (absent ones included)."""
        return sorted(
            key for key in self.tracked if key not in self.views or not self.views[key].settled
        )


async def run_sandbox(options: SandboxOptions, err: TextIO = sys.stderr) -> int:
    """Run until Ctrl-C/SIGTERM (or, with `exit_when_done`, until the applied WFEs settle)."""
    display = Display(err, live=options.live)
    try:
        manifests = [m for path in options.apply for m in load_manifests(path)]
    except ManifestError as error:
        display.note(f"kubernaut-wfe sandbox: {error}")
        return EXIT_FAILED
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with running_stack(options.stack, display.note) as stack:
            code = await _session(stack, options, manifests, display, stop)
        display.note(f"stopped (the controller exited with code {stack.controller.returncode})")
        return code
    except (StackError, ProcessError, KubeApiError, httpx.HTTPError, OSError) as error:
        display.note(f"kubernaut-wfe sandbox: {error}")
        return EXIT_FAILED
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def _session(
    stack: Stack,
    options: SandboxOptions,
    manifests: list[Manifest],
    display: Display,
    stop: asyncio.Event,
) -> int:
    async with httpx.AsyncClient(
        base_url=stack.endpoints.api_server, verify=stack.api_tls or True, timeout=30.0
    ) as client:
        api = KubeApi(client)
        always = [options.stack.execution_namespace]
        for namespace in namespaces_needed(manifests, always):
            await api.ensure_namespace(namespace)
        display.note(f"starting the controller (log: {stack.controller.log_path})")
        started = await _unless_stopped(start_controller(stack, options.stack), stop)
        if started is None:
            display.log("interrupted before the controller was ready")
            return EXIT_FAILED
        stack = started
        _banner(stack, display)
        watch = _Watch()
        watcher = asyncio.create_task(_follow(api, watch, display))
        try:
            for manifest in manifests:
                await _apply(api, manifest, watch, display)
            return await _wait(stack, options, watch, display, stop)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            if options.output_json:
                await _print_json(api, stack.endpoints.audit_url, display)
            server = "API server" if stack.cluster is not None else "API emulator"
            display.note(f"stopping: controller (SIGTERM), audit service, {server}")


async def _unless_stopped(work: Coroutine[Any, Any, Stack], stop: asyncio.Event) -> Stack | None:
    """The result of `work`, or None (work cancelled) when `stop` is set first."""
    task = asyncio.create_task(work)
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait([task, stopped], return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return None


def _banner(stack: Stack, display: Display) -> None:
    endpoints = stack.endpoints
    on_cluster: tuple[str, ...] = ()
    if stack.cluster is not None:
        on_cluster = (
            f"  export PATH={stack.cluster.root / 'bin'}:$PATH   # kubectl of the server's release",
        )
    api = "(real kube-apiserver)" if stack.cluster is not None else "(emulator)"
    for line in (
        "sandbox ready:",
        f"  Kubernetes API  {endpoints.api_server} {api}",
        f"  audit service   {endpoints.audit_url}/api/v1/audit/events?correlation_id=…",
        f"  metrics         {endpoints.metrics_url}",
        f"  probes          {endpoints.health_url}/healthz  {endpoints.health_url}/readyz",
        f"  state           {Path(endpoints.state_dir) / 'sandbox.json'}",
        "use it with:",
        *on_cluster,
        f"  export KUBECONFIG={endpoints.kubeconfig}",
        f"  kubectl --kubeconfig {endpoints.kubeconfig} get wfe -A",
        "Ctrl-C stops everything.",
    ):
        display.note(line)


async def _apply(api: KubeApi, manifest: Manifest, watch: _Watch, display: Display) -> None:
    result = await api.create(manifest.body, default_namespace="default")
    is_wfe = manifest.body.get("apiVersion") == API_VERSION and manifest.body.get("kind") == KIND
    if result.outcome == "rejected":
        display.log(f"apply {manifest.where}: {manifest.title} REJECTED: {result.message}")
        return
    if is_wfe:
        watch.tracked.add(wfe_key(result.body or manifest.body))
        watch.changed.set()
    verb = "created" if result.outcome == "created" else "already exists"
    display.log(f"apply {manifest.where}: {manifest.title} {verb}")


async def _follow(api: KubeApi, watch: _Watch, display: Display) -> None:
    async for event in api.watch_wfes():
        if event.type == "RELISTED":
            current = {wfe_key(obj): view_of(obj) for obj in event.objects}
            updates: dict[str, WfeView | None] = {
                **{key: None for key in watch.views if key not in current},
                **current,
            }
        else:
            obj = event.objects[0]
            updates = {wfe_key(obj): None if event.type == "DELETED" else view_of(obj)}
        width = max((len(key) for key in (*watch.views, *updates)), default=0)
        for key, new in updates.items():
            display.timeline(key, describe_changes(watch.views.get(key), new), width)
            if new is None:
                watch.views.pop(key, None)
            else:
                watch.views[key] = new
        display.progress(watch.views)
        watch.changed.set()


async def _wait(
    stack: Stack, options: SandboxOptions, watch: _Watch, display: Display, stop: asyncio.Event
) -> int:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + options.timeout
    exited = asyncio.create_task(stack.controller.wait())
    try:
        while not stop.is_set():
            if exited.done():
                display.log(
                    f"the controller exited with code {exited.result()}:\n"
                    + await stack.controller.log_tail()
                )
                return EXIT_FAILED
            if options.exit_when_done:
                stuck = watch.stuck()
                if not stuck:
                    display.log(f"all {len(watch.tracked)} applied WorkflowExecutions are done")
                    return EXIT_OK
                if loop.time() > deadline:
                    display.log(
                        f"timed out after {options.timeout:.0f}s; not done: {', '.join(stuck)}"
                    )
                    return EXIT_FAILED
            watch.changed.clear()
            waiters = [asyncio.create_task(e.wait()) for e in (stop, watch.changed)]
            await asyncio.wait([*waiters, exited], timeout=0.5, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
        display.log("interrupted")
        return EXIT_OK
    finally:
        exited.cancel()


async def _print_json(api: KubeApi, audit_url: str, display: Display) -> None:
    """Exactly one JSON document on stdout: every WFE and the audit events of their
    correlation ids."""
    try:
        wfes, _ = await api.list_wfes()
        events = await audit_events_for(audit_url, wfes)
    except (httpx.HTTPError, ValueError) as error:
        display.log(f"cannot collect the JSON output: {error}")
        wfes, events = [], []
    document: dict[str, Any] = {"workflowExecutions": wfes, "auditEvents": events}
    sys.stdout.write(json.dumps(document, indent=2) + "\n")
    sys.stdout.flush()
