"""A real Kubernetes control plane on loopback: etcd, kube-apiserver and kube-controller-manager
built from their Go modules (see `build.py`), as envtest runs them upstream, with RBAC, an audit
log, the project's CRD and RBAC and Tekton's CRDs installed.

There is no kubelet and no scheduler: pods are never run unless something plays the node (the
node stand-in, `kubernaut_wfe_tools.node_simulator`, binds and runs the Job engine's pods).
`make test-cluster-up` starts one in `.testcluster/` for people; every test run starts its own
on free ports through the same class.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from kubernaut_wfe_tools.processes import free_port
from kubernaut_wfe_tools.testing.testcluster.build import REPO_ROOT
from kubernaut_wfe_tools.testing.testcluster.pki import ClusterPki, make_pki

CONTROLLER_NAMESPACE = "kubernaut-system"
CONTROLLER_SERVICE_ACCOUNT = "kubernaut-wfe-controller"
CONTROLLER_USER = f"system:serviceaccount:{CONTROLLER_NAMESPACE}:{CONTROLLER_SERVICE_ACCOUNT}"
"""The user the API server's audit log names for the controller's requests."""
EXECUTION_NAMESPACE = "kubernaut-workflows"
NAMESPACES = ("default", CONTROLLER_NAMESPACE, EXECUTION_NAMESPACE)
CRD_DIR = REPO_ROOT / "deploy" / "crds"
RBAC_DIR = REPO_ROOT / "deploy" / "rbac"
EXECUTION_DIR = REPO_ROOT / "deploy" / "execution"
"""The execution namespace as installed (restricted Pod Security, enforced on the Job engine's
pods) and its runner ServiceAccount."""
TEKTON_CRD_DIR = REPO_ROOT.parent / "shared" / "tekton-crds"
TOKEN_DURATION = "48h"  # noqa: S105 - a lifetime, not a secret
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"
CONTROLLERS = (
    "garbage-collector-controller",
    "namespace-controller",
    "job-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "root-ca-certificate-publisher-controller",
    "deployment-controller",
    "replicaset-controller",
    "resourcequota-controller",
)
"""kube-controller-manager's controllers we run: garbage collection, namespace deletion, Jobs and
ServiceAccounts, what turns a Deployment into Pods, and resource quotas (the API server's quota
admission refuses every object a ResourceQuota counts until this controller has computed the
quota's usage). Not node lifecycle or taint eviction: without a kubelet they would mark every
node dead and evict what a stand-in (`kubernaut_wfe_tools.node_simulator`) runs."""
AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived"],
    "rules": [{"level": "Metadata"}],
}
START_TIMEOUT = 90.0
PR_SET_PDEATHSIG = 1


class ClusterError(RuntimeError):
    """The cluster did not start; the message names the component and quotes its log."""


@dataclass
class ClusterState:
    """What `down` needs to stop a detached cluster, kept in `state.json`."""

    pids: dict[str, int] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)


class TestCluster:
    """One control plane whose files all live under `root` (removed by `stop`)."""

    __test__ = False  # not a pytest test class

    def __init__(self, root: Path, binaries: Path) -> None:
        self.root = root
        self.binaries = binaries
        self.state = ClusterState()
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self.pki: ClusterPki | None = None

    # --- paths --------------------------------------------------------------------------------

    @property
    def admin_kubeconfig(self) -> Path:
        return self.root / "admin.kubeconfig"

    @property
    def controller_kubeconfig(self) -> Path:
        return self.root / "controller.kubeconfig"

    @property
    def audit_log(self) -> Path:
        return self.root / "audit.log"

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.state.ports['apiserver']}"

    @property
    def proxy_certificate(self) -> tuple[Path, Path]:
        """(cert, key): a serving certificate for 127.0.0.1 and localhost signed by the cluster
        CA, for a `FaultProxy` the cluster's kubeconfigs verify as they verify the API server."""
        pki_dir = self.root / "pki"
        cert, key = pki_dir / "proxy.crt", pki_dir / "proxy.key"
        if not cert.is_file():
            raise ClusterError(f"{cert} is missing: the cluster was started before it was made")
        return cert, key

    def log_path(self, component: str) -> Path:
        return self.root / "logs" / f"{component}.log"

    # --- start and stop -----------------------------------------------------------------------

    def start(self, *, detach: bool = False) -> None:
        """Start etcd, kube-apiserver and kube-controller-manager, install the namespaces, the
        CRDs and the controller's RBAC, and write both kubeconfigs. With `detach` the processes
        outlive this one (`down` stops them through `state.json`)."""
        if self.root.exists():
            shutil.rmtree(self.root)
        (self.root / "logs").mkdir(parents=True)
        (self.root / "bin").symlink_to(self.binaries, target_is_directory=True)
        self.pki = make_pki(self.root / "pki")
        self.state.ports = {name: free_port() for name in ("etcd", "etcd-peer", "apiserver")}
        try:
            self._start_etcd(detach)
            self._start_apiserver(detach)
            self._write_admin_kubeconfig()
            self._wait_ready()
            self._start_controller_manager(detach)
            self._install()
            self._write_controller_kubeconfig()
        except BaseException:
            self.stop(keep_files=True)
            raise
        self._save_state()

    def stop(self, *, keep_files: bool = False) -> None:
        """Stop every process (the newest first) and, unless `keep_files`, remove `root`."""
        for name in reversed(list(self.state.pids)):
            process = self._processes.get(name)
            if process is None and not self._runs_ours(self.state.pids[name], name):
                continue  # a pid from state.json that is gone or has been reused
            _terminate(self.state.pids[name], process)
        self.state.pids.clear()
        self._processes.clear()
        if not keep_files and self.root.exists():
            shutil.rmtree(self.root)

    @classmethod
    def attach(cls, root: Path) -> TestCluster | None:
        """The detached cluster described by `root/state.json`, if any."""
        state_file = root / "state.json"
        if not state_file.is_file():
            return None
        saved = json.loads(state_file.read_text(encoding="utf-8"))
        cluster = cls(root, Path(saved["binaries"]))
        cluster.state = ClusterState(pids=saved["pids"], ports=saved["ports"])
        return cluster

    def _runs_ours(self, pid: int, component: str) -> bool:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
        except OSError:
            return False
        return command.decode(errors="replace") == str(self.binaries / component)

    def _save_state(self) -> None:
        document = {**asdict(self.state), "binaries": str(self.binaries)}
        (self.root / "state.json").write_text(json.dumps(document, indent=2), encoding="utf-8")

    def _spawn(self, name: str, args: Sequence[str], *, detach: bool) -> None:
        log = self.log_path(name).open("ab")
        process = subprocess.Popen(
            [str(self.binaries / name), *args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=None if detach else _die_with_parent,  # noqa: PLW1509 - prctl only
        )
        log.close()
        self._processes[name] = process
        self.state.pids[name] = process.pid

    def _start_etcd(self, detach: bool) -> None:
        self._spawn(
            "etcd",
            [
                "--data-dir", str(self.root / "etcd"),
                "--listen-client-url", f"http://127.0.0.1:{self.state.ports['etcd']}",
                "--listen-peer-url", f"http://127.0.0.1:{self.state.ports['etcd-peer']}",
                "--unsafe-no-fsync",
            ],
            detach=detach,
        )  # fmt: skip
        self._wait(lambda: _port_open(self.state.ports["etcd"]), "etcd", "listening")

    def _start_apiserver(self, detach: bool) -> None:
        assert self.pki is not None
        policy = self.root / "audit-policy.yaml"
        policy.write_text(yaml.safe_dump(AUDIT_POLICY), encoding="utf-8")
        self._spawn(
            "kube-apiserver",
            [
                f"--etcd-servers=http://127.0.0.1:{self.state.ports['etcd']}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={self.state.ports['apiserver']}",
                f"--cert-dir={self.root / 'pki'}",
                f"--tls-cert-file={self.pki.serving.cert}",
                f"--tls-private-key-file={self.pki.serving.key}",
                f"--client-ca-file={self.pki.ca.cert}",
                "--authorization-mode=RBAC",
                f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
                f"--service-account-key-file={self.pki.service_account_public_key}",
                f"--service-account-signing-key-file={self.pki.service_account_key}",
                "--service-cluster-ip-range=10.96.0.0/24",
                "--endpoint-reconciler-type=none",
                f"--audit-policy-file={policy}",
                f"--audit-log-path={self.audit_log}",
                "--audit-log-format=json",
                "--audit-log-maxsize=0",
                "--profiling=false",
            ],
            detach=detach,
        )  # fmt: skip

    def _start_controller_manager(self, detach: bool) -> None:
        assert self.pki is not None
        kubeconfig = self.root / "kube-controller-manager.kubeconfig"
        self._write_kubeconfig(
            kubeconfig,
            "kube-controller-manager",
            {"client-certificate": str(self.pki.controller_manager.cert),
             "client-key": str(self.pki.controller_manager.key)},
        )  # fmt: skip
        self._spawn(
            "kube-controller-manager",
            [
                f"--kubeconfig={kubeconfig}",
                f"--controllers={','.join(CONTROLLERS)}",
                "--use-service-account-credentials=true",
                f"--service-account-private-key-file={self.pki.service_account_key}",
                f"--root-ca-file={self.pki.ca.cert}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                "--secure-port=0",
            ],
            detach=detach,
        )

    def _wait_ready(self) -> None:
        with httpx.Client(base_url=self.url, verify=self.tls(), timeout=5) as client:

            def ready() -> bool:
                with contextlib.suppress(httpx.HTTPError):
                    return client.get("/readyz").status_code == 200
                return False

            self._wait(ready, "kube-apiserver", "ready (/readyz)")

    def _wait(self, probe: Any, component: str, what: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while not probe():
            process = self._processes.get(component)
            if process is not None and process.poll() is not None:
                raise ClusterError(
                    f"{component} exited with {process.returncode}:\n{self._tail(component)}"
                )
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"{component} not {what} after {START_TIMEOUT:.0f} s:\n{self._tail(component)}"
                )
            time.sleep(0.1)

    def _tail(self, component: str) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(
                self.log_path(component).read_text(errors="replace").splitlines()[-40:]
            )
        return "(no log)"

    # --- contents -----------------------------------------------------------------------------

    def _install(self) -> None:
        if not TEKTON_CRD_DIR.is_dir():
            raise ClusterError(
                f"Tekton's CRDs are not at {TEKTON_CRD_DIR} (shared/ beside the checkout)"
            )
        namespaces = [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
            for name in NAMESPACES
        ]
        self.kubectl("apply", "--server-side", "-f", "-", stdin=yaml.safe_dump_all(namespaces))
        self.kubectl("apply", "--server-side", "-f", str(CRD_DIR))
        self.kubectl("apply", "--server-side", "-f", str(TEKTON_CRD_DIR))
        self.kubectl("apply", "--server-side", "-f", str(RBAC_DIR))
        self.kubectl("apply", "--server-side", "-f", str(EXECUTION_DIR))
        self.kubectl("wait", "--for=condition=Established", "--timeout=60s", "crd", "--all")
        self._wait_served()

    def _wait_served(self) -> None:
        """Wait until every CRD's storage answers a list: a CRD is Established before its
        storage is, and until then lists of it are answered 429 "storage is (re)initializing"."""
        crds = json.loads(self.kubectl("get", "crd", "-o", "json"))["items"]
        paths = [
            f"/apis/{crd['spec']['group']}/{version['name']}/{crd['spec']['names']['plural']}"
            for crd in crds
            for version in crd["spec"]["versions"]
            if version.get("served")
        ]
        with httpx.Client(base_url=self.url, verify=self.tls(), timeout=5) as client:

            def served() -> bool:
                with contextlib.suppress(httpx.HTTPError):
                    return all(
                        client.get(path, params={"limit": 1}).status_code == 200 for path in paths
                    )
                return False

            self._wait(served, "kube-apiserver", "serving every CRD")

    def _write_admin_kubeconfig(self) -> None:
        assert self.pki is not None
        self._write_kubeconfig(
            self.admin_kubeconfig,
            "admin",
            {"client-certificate": str(self.pki.admin.cert), "client-key": str(self.pki.admin.key)},
        )

    def _write_controller_kubeconfig(self) -> None:
        token = self.kubectl(
            "create", "token", CONTROLLER_SERVICE_ACCOUNT, "-n", CONTROLLER_NAMESPACE,
            f"--duration={TOKEN_DURATION}",
        ).strip()  # fmt: skip
        self._write_kubeconfig(
            self.controller_kubeconfig, CONTROLLER_SERVICE_ACCOUNT, {"token": token},
            namespace=CONTROLLER_NAMESPACE,
        )  # fmt: skip

    def _write_kubeconfig(
        self, path: Path, user: str, credentials: dict[str, str], namespace: str = "default"
    ) -> None:
        assert self.pki is not None
        document = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "testcluster", "cluster": {
                "server": self.url, "certificate-authority": str(self.pki.ca.cert)}}],
            "users": [{"name": user, "user": credentials}],
            "contexts": [{"name": user, "context": {
                "cluster": "testcluster", "user": user, "namespace": namespace}}],
            "current-context": user,
        }  # fmt: skip
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        path.chmod(0o600)

    # --- use ----------------------------------------------------------------------------------

    def kubectl(
        self,
        *args: str,
        kubeconfig: Path | None = None,
        stdin: str | None = None,
        check: bool = True,
    ) -> str:
        """Run the cluster's own kubectl (same release as the server); its stdout. With `check`,
        a non-zero exit raises `ClusterError` quoting stderr."""
        result = self.run_kubectl(*args, kubeconfig=kubeconfig, stdin=stdin)
        if check and result.returncode != 0:
            raise ClusterError(
                f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr}"
            )
        return result.stdout

    def run_kubectl(
        self, *args: str, kubeconfig: Path | None = None, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run the cluster's kubectl; the whole result, whatever the exit code."""
        return subprocess.run(
            [str(self.binaries / "kubectl"),
             f"--kubeconfig={kubeconfig or self.admin_kubeconfig}", *args],
            input=stdin, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    def tls(self, *, admin: bool = True) -> ssl.SSLContext:
        """A TLS context that verifies the API server (and presents the admin's certificate)."""
        pki_dir = self.root / "pki"
        context = ssl.create_default_context(cafile=str(pki_dir / "ca.crt"))
        if admin:
            context.load_cert_chain(str(pki_dir / "admin.crt"), str(pki_dir / "admin.key"))
        return context

    def audit_records(self, user: str | None = None) -> list[dict[str, Any]]:
        """The API server's audit log so far, one record per request (of `user` if given)."""
        records = []
        with contextlib.suppress(FileNotFoundError), self.audit_log.open(encoding="utf-8") as log:
            for line in log:
                with contextlib.suppress(ValueError):
                    record = json.loads(line)
                    if user is None or (record.get("user") or {}).get("username") == user:
                        records.append(record)
        return records


@contextlib.contextmanager
def running_cluster(root: Path, binaries: Path) -> Iterator[TestCluster]:
    """A cluster for the length of the block, its files under `root`."""
    cluster = TestCluster(root, binaries)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@contextlib.asynccontextmanager
async def owned_cluster(root: Path, binaries: Path) -> AsyncIterator[TestCluster]:
    """A control plane under `root`, started and (on exit) stopped with its files removed.

    One thread of its own starts it, waits and stops it: the cluster's processes get SIGTERM when
    the thread that started them ends (PR_SET_PDEATHSIG), so a pool thread must not start them,
    and a process killed outright leaves no control plane behind; the event loop
    goes on serving meanwhile. A failed start raises
    `ClusterError` (the cluster's files are kept for its logs).
    """
    cluster = TestCluster(root, binaries)
    started = threading.Event()
    release = threading.Event()
    failures: list[BaseException] = []

    def own() -> None:
        try:
            cluster.start()
        except BaseException as error:  # reported to the event loop, which raises it
            failures.append(error)
            return
        finally:
            started.set()
        release.wait()
        cluster.stop()

    owner = threading.Thread(target=own, name="test-cluster", daemon=True)
    owner.start()
    try:
        await asyncio.to_thread(started.wait)
        if failures:
            (failure,) = failures
            if isinstance(failure, ClusterError):
                raise failure
            raise ClusterError(f"{type(failure).__name__}: {failure}") from failure
        yield cluster
    finally:
        release.set()
        await asyncio.to_thread(owner.join)


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _die_with_parent() -> None:
    """In the child: SIGTERM when the test process that started it dies, so no control plane
    outlives a killed test run."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _terminate(pid: int, process: subprocess.Popen[bytes] | None, timeout: float = 15.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None:
            if process.poll() is not None:
                return
        elif not _alive(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    if process is not None:
        process.wait()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.split(")")[-1].split()[0] != "Z"
    return True
