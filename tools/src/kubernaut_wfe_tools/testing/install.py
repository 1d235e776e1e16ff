"""The chart installed on the test cluster and run for real: the controller's Deployment becomes
a pod that the node stand-in runs as a local process (`node_simulator.service_pods`), beside the
audit service (reached through a Service cluster IP, as in a cluster) and the Tekton simulator.
What `make test-install` and its wiring tests use; `report` is what a person would look at first
when the pod does not become ready."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import helm_python as helm
import httpx
import yaml

from kubernaut_wfe_tools.node_simulator import NodeSimulator
from kubernaut_wfe_tools.node_simulator.service_pods.images import (
    CONTROLLER_IMAGE_REPOSITORY,
    controller_image,
)
from kubernaut_wfe_tools.tekton_simulator import TektonSimulator
from kubernaut_wfe_tools.testing.audit_service import in_process_audit_service
from kubernaut_wfe_tools.testing.testcluster import TestCluster
from kubernaut_wfe_tools.testing.testcluster.build import REPO_ROOT
from kubernaut_wfe_tools.testing.testcluster.cluster import CRD_DIR, EXECUTION_NAMESPACE

CHART_DIR: Final = REPO_ROOT / "charts" / "kubernaut-wfe"
RELEASE: Final = "kubernaut-wfe"
NAMESPACE: Final = "kubernaut-system"
DEPLOYMENT: Final = f"{RELEASE}-controller"
POD_SELECTOR: Final = f"app.kubernetes.io/instance={RELEASE},app.kubernetes.io/name=kubernaut-wfe"
AUDIT_SERVICE: Final = ("10.96.0.20", 8080)
"""The cluster IP the audit service is reached at from the pod (the stand-in proxies it)."""
FIELD_MANAGER: Final = "helm"
PROBES_PORT: Final = 8081
METRICS_PORT: Final = 9090


def render_chart(values: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """`helm template kubernaut-wfe -n kubernaut-system` (with `values` over the defaults)."""
    manifests = helm.Chart.load(CHART_DIR).render(
        dict(values or {}), name=RELEASE, namespace=NAMESPACE, is_install=True
    )
    return [
        document
        for path, text in sorted(manifests.items())
        if path.endswith(".yaml")
        for document in yaml.safe_load_all(text)
        if document
    ]


def chart_values(**config: Any) -> dict[str, Any]:
    """The chart's defaults plus what the test cluster needs: DataStorage at the audit service's
    cluster IP, a short cooldown; `config` merged over `config:` (nested dicts)."""
    values: dict[str, Any] = {
        "config": {
            "datastorage": {"url": f"http://{AUDIT_SERVICE[0]}:{AUDIT_SERVICE[1]}"},
            "execution": {"cooldownPeriod": "10s"},
        }
    }
    _merge(values["config"], config)
    return values


@dataclass
class Installation:
    """The chart on `cluster`, its controller pod run by `node`; `audit_url` is the audit
    service as the tests reach it."""

    cluster: TestCluster
    node: NodeSimulator
    audit_url: str
    client: httpx.AsyncClient

    async def apply(
        self,
        values: Mapping[str, Any] | None,
        into: Path,
        *,
        edit: Callable[[list[dict[str, Any]]], None] | None = None,
    ) -> list[dict[str, Any]]:
        """`helm upgrade --install`, as a server-side apply of the rendered chart (the test
        cluster's own copy of the RBAC is taken over: `--force-conflicts`); `edit` changes the
        rendered documents first (a wiring broken on purpose)."""
        documents = render_chart(values)
        if edit is not None:
            edit(documents)
        await asyncio.to_thread(into.write_text, yaml.safe_dump_all(documents), encoding="utf-8")
        await self.kubectl(
            "apply", "--server-side", "--force-conflicts", f"--field-manager={FIELD_MANAGER}",
            "-f", str(into),
        )  # fmt: skip
        return documents

    async def rollout(self, within: str = "90s") -> tuple[bool, str]:
        """`kubectl rollout status`: (succeeded, what it printed)."""
        result = await asyncio.to_thread(
            self.cluster.run_kubectl,
            "rollout", "status", f"deployment/{DEPLOYMENT}", "-n", NAMESPACE,
            f"--timeout={within}",
        )  # fmt: skip
        return result.returncode == 0, result.stdout + result.stderr

    async def kubectl(self, *args: str, check: bool = True) -> str:
        result = await asyncio.to_thread(self.cluster.run_kubectl, *args)
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)}: {result.stderr}")
        return result.stdout

    async def pods(self) -> list[dict[str, Any]]:
        answer = await self.client.get(
            f"/api/v1/namespaces/{NAMESPACE}/pods", params={"labelSelector": POD_SELECTOR}
        )
        answer.raise_for_status()
        items: list[dict[str, Any]] = answer.json()["items"]
        return [pod for pod in items if not pod["metadata"].get("deletionTimestamp")]

    async def probe(self, pod: Mapping[str, Any], path: str, port: int = PROBES_PORT) -> str:
        """What the pod answers on `path` (its status code and body), or why it does not."""
        address = (pod.get("status") or {}).get("podIP")
        if not address:
            return "(no pod IP yet)"
        try:
            async with httpx.AsyncClient(timeout=5) as probe:
                answer = await probe.get(f"http://{address}:{port}{path}")
        except httpx.HTTPError as error:
            return f"(no answer: {error!r})"
        return f"{answer.status_code} {answer.text}"

    async def readiness(self, pod: Mapping[str, Any]) -> dict[str, Any]:
        address = pod["status"]["podIP"]
        async with httpx.AsyncClient(timeout=5) as probe:
            answer = await probe.get(f"http://{address}:{PROBES_PORT}/readyz")
        body: dict[str, Any] = answer.json()
        return body

    async def report(self) -> str:
        """For a pod that did not become ready: each pod's phase, conditions and container
        state, its Events, its probes' answers and the last lines of its log."""
        lines: list[str] = []
        tails = self.node.service_pods.log_tails(30)
        for pod in await self.pods():
            name = pod["metadata"]["name"]
            status = pod.get("status") or {}
            containers = status.get("containerStatuses") or [{}]
            conditions = {c["type"]: c["status"] for c in status.get("conditions") or []}
            selector = f"--field-selector=involvedObject.name={name}"
            events = await self.kubectl(
                "get", "events", "-n", NAMESPACE, selector, "--sort-by=.lastTimestamp", check=False
            )
            lines += [
                f"--- pod {name}: phase {status.get('phase')}, conditions {conditions}",
                f"container: {json.dumps(containers[0].get('state'))} "
                f"restarts {containers[0].get('restartCount')} "
                f"last {json.dumps(containers[0].get('lastState'))}",
                "events:",
                events,
                f"/readyz: {await self.probe(pod, '/readyz')}",
                f"/healthz: {await self.probe(pod, '/healthz')}",
                "log (last lines):",
                tails.get(name, "(none)"),
            ]
        return "\n".join(lines) or "(no controller pod)"

    async def uninstall(self, chart_file: Path) -> None:
        """`docs/deployment.md`'s uninstall: the WFEs while the controller runs, then the
        release, then the CRD."""
        await self.kubectl(
            "delete", "workflowexecutions", "--all", "--all-namespaces", "--wait", "--timeout=90s"
        )
        await self.kubectl("delete", "-f", str(chart_file), "--wait", "--timeout=90s")
        await self.kubectl("delete", "-f", str(CRD_DIR), "--wait", "--timeout=60s")


@contextlib.asynccontextmanager
async def installation(cluster: TestCluster, state_dir: Path) -> AsyncIterator[Installation]:
    """The audit service (SQLite under `state_dir`), the Tekton simulator and the node stand-in
    running the controller's image, beside `cluster`."""
    tls: ssl.SSLContext = cluster.tls()
    async with contextlib.AsyncExitStack() as stack:
        audit_url = await stack.enter_async_context(
            in_process_audit_service(f"sqlite:///{state_dir / 'audit.db'}")
        )
        port = int(audit_url.rsplit(":", 1)[1].rstrip("/"))
        await stack.enter_async_context(
            TektonSimulator(cluster.url, namespaces=[EXECUTION_NAMESPACE], tls=tls)
        )
        node = await stack.enter_async_context(
            NodeSimulator(
                cluster.url,
                namespaces=[EXECUTION_NAMESPACE],
                tls=tls,
                images={CONTROLLER_IMAGE_REPOSITORY: controller_image()},
                services={AUDIT_SERVICE: ("127.0.0.1", port)},
                state_dir=state_dir / "node",
            )
        )
        client = await stack.enter_async_context(
            httpx.AsyncClient(base_url=cluster.url, verify=tls, timeout=30)
        )
        yield Installation(cluster, node, audit_url, client)


def _merge(into: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value
