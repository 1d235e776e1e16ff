"""Rehearsals of tests/e2e/kind/run.sh with recording stubs in place of the real tools.

Each stub appends its name and argv (tab-separated) to a log and prints plausible output, so the
tests can check the order and arguments of every call without Docker or a cluster.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "tests" / "e2e" / "kind" / "run.sh"
TOOLS = ("docker", "kind", "kubectl", "helm", "tkn", "curl", "sha256sum")
STUBBED = ("docker", "kind", "kubectl", "helm", "tkn", "curl")
FAKE_RELEASE = b"# a stand-in for Tekton's release.yaml\n"
FAKE_RELEASE_SHA256 = hashlib.sha256(FAKE_RELEASE).hexdigest()
CLUSTER = "kubernaut-wfe-e2e"

STUB = r"""#!/bin/bash
name="$(basename "$0")"
# One write per call: the port-forwards run in the background, so records must not interleave.
record="$name$(printf '\t%s' "$@")"
printf '%s\n' "$record" >>"$STUB_LOG"
for arg in "$@"; do
    # drain piped input (kubectl apply -f -, docker exec -i) so the writer never sees EPIPE
    if [[ "$arg" == "-" || "$arg" == "-i" ]]; then cat >/dev/null; break; fi
done
if [[ -n "${STUB_FAIL:-}" && "$name $*" == *"$STUB_FAIL"* ]]; then
    echo "stub: failing on purpose: $name $*" >&2
    exit 1
fi
case "$name $*" in
    "docker info"*) echo "Server Version: 27.0.0" ;;
    "docker inspect -f"*) echo "172.18.0.5" ;;
    "docker inspect"*) exit 1 ;;
    "kind get kubeconfig"*) printf 'apiVersion: v1\nkind: Config\n' ;;
    "kind get nodes"*) echo "kubernaut-wfe-e2e-control-plane" ;;
    "curl "*)
        previous=""
        for arg in "$@"; do
            if [[ "$previous" == "-o" ]]; then cat "$STUB_RELEASE" >"$arg"; fi
            previous="$arg"
        done
        ;;
    "kubectl wait"*) echo "condition met" ;;
    "kubectl rollout status"*) echo "successfully rolled out" ;;
esac
exit 0
"""

PYTEST_STUB = r"""#!/bin/bash
record="$(printf 'pytest\tE2E_TARGET=%s\tKUBECONFIG=%s\tE2E_BUNDLE_REGISTRY=%s' \
    "${E2E_TARGET:-}" "${KUBECONFIG:-}" "${E2E_BUNDLE_REGISTRY:-}")$(printf '\t%s' "$@")"
printf '%s\n' "$record" >>"$STUB_LOG"
exit "${PYTEST_RC:-0}"
"""


@dataclass
class Rehearsal:
    """The outcome of one run of the script with stubs."""

    returncode: int
    stderr: str
    calls: list[list[str]]

    def index(self, *prefix: str) -> int:
        """The position of the first call starting with `prefix` (fails when absent)."""
        for position, call in enumerate(self.calls):
            if call[: len(prefix)] == list(prefix):
                return position
        raise AssertionError(f"no call {' '.join(prefix)!r} among:\n{self.render()}")

    def has(self, *prefix: str) -> bool:
        return any(call[: len(prefix)] == list(prefix) for call in self.calls)

    def call(self, *prefix: str) -> list[str]:
        return self.calls[self.index(*prefix)]

    def render(self) -> str:
        return "\n".join(" ".join(call) for call in self.calls)


@pytest.fixture(scope="module")
def system_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every executable on PATH except the tools the script checks for (first one wins)."""
    target = tmp_path_factory.mktemp("sysbin")
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        folder = Path(directory)
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            link = target / entry.name
            if entry.name in TOOLS or link.exists() or not os.access(entry, os.X_OK):
                continue
            if entry.is_file():
                link.symlink_to(entry)
    return target


@pytest.fixture
def stubs(tmp_path: Path) -> Path:
    """A directory with a recording stub of each tool, the real sha256sum and a pytest stub."""
    directory = tmp_path / "stubs"
    directory.mkdir()
    for tool in STUBBED:
        stub = directory / tool
        stub.write_text(STUB, encoding="utf-8")
        stub.chmod(0o755)
    sha256sum = shutil.which("sha256sum")
    assert sha256sum is not None, "coreutils' sha256sum is needed by the rehearsal"
    (directory / "sha256sum").symlink_to(sha256sum)
    pytest_stub = directory / "pytest-stub"
    pytest_stub.write_text(PYTEST_STUB, encoding="utf-8")
    pytest_stub.chmod(0o755)
    (tmp_path / "release.yaml").write_bytes(FAKE_RELEASE)
    return directory


def rehearse(stubs: Path, system_bin: Path, *, remove: str | None = None, **env: str) -> Rehearsal:
    """Run the script with the stubs first on PATH (minus `remove`) and return what happened."""
    if remove is not None:
        (stubs / remove).unlink()
    log = stubs.parent / "calls.log"
    log.touch()
    environment = {
        "PATH": f"{stubs}{os.pathsep}{system_bin}",
        "HOME": str(stubs.parent),
        "STUB_LOG": str(log),
        "STUB_RELEASE": str(stubs.parent / "release.yaml"),
        "PYTEST": str(stubs / "pytest-stub"),
        "TEKTON_RELEASE_SHA256": FAKE_RELEASE_SHA256,
        **env,
    }
    completed = subprocess.run(
        ["bash", str(SCRIPT)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
        cwd=stubs.parent,
    )
    calls = [line.split("\t") for line in log.read_text(encoding="utf-8").splitlines()]
    return Rehearsal(completed.returncode, completed.stderr, calls)


@pytest.fixture
def full_run(stubs: Path, system_bin: Path) -> Rehearsal:
    return rehearse(stubs, system_bin)


def test_the_steps_run_in_order(full_run: Rehearsal) -> None:
    run = full_run
    assert run.returncode == 0, run.stderr
    steps = [
        run.index("docker", "info"),
        run.index("kind", "create", "cluster"),
        run.index("curl"),
        run.index("kubectl", "apply", "-f"),
        run.index("kubectl", "wait"),
        run.index("kubectl", "patch", "configmap", "resolvers-feature-flags"),
        run.index("docker", "run"),
        run.index("docker", "network", "connect", "kind", "kind-registry"),
        run.index("tkn", "bundle", "push"),
        run.index("docker", "build"),
        run.index("kind", "load", "docker-image"),
        run.index("helm", "install"),
        run.index("kubectl", "-n", "kubernaut-system", "rollout", "status"),
        run.index("pytest"),
        run.index("kind", "delete", "cluster"),
    ]
    assert steps == sorted(steps), run.render()


def test_the_cluster_comes_from_the_kind_config(full_run: Rehearsal) -> None:
    create = full_run.call("kind", "create", "cluster")
    assert create[create.index("--name") + 1] == CLUSTER
    assert create[create.index("--config") + 1] == str(SCRIPT.parent / "kind-config.yaml")
    assert full_run.call("kind", "delete", "cluster") == [
        "kind",
        "delete",
        "cluster",
        "--name",
        CLUSTER,
    ]


def test_tekton_is_the_pinned_release_checked_before_it_is_applied(full_run: Rehearsal) -> None:
    download = full_run.call("curl")
    url = download[-1]
    assert url == "https://infra.tekton.dev/tekton-releases/pipeline/previous/v1.7.0/release.yaml"
    saved = download[download.index("-o") + 1]
    assert full_run.call("kubectl", "apply", "-f") == ["kubectl", "apply", "-f", saved]
    waited = full_run.call("kubectl", "wait")
    assert "deployment/tekton-pipelines-controller" in waited
    assert "deployment/tekton-pipelines-webhook" in waited
    flags = full_run.call("kubectl", "patch", "configmap", "resolvers-feature-flags")
    assert '{"data":{"enable-bundles-resolver":"true"}}' in flags


def test_the_registry_serves_both_bundles(full_run: Rehearsal) -> None:
    started = full_run.call("docker", "run")
    assert "127.0.0.1:5001:5000" in started
    assert started[started.index("--name") + 1] == "kind-registry"
    pushes = [call for call in full_run.calls if call[:3] == ["tkn", "bundle", "push"]]
    assert [call[3] for call in pushes] == [
        "localhost:5001/kubernaut/workflows/hello-world:v1",
        "localhost:5001/kubernaut/workflows/failing:v1",
    ]
    for call, bundle in zip(pushes, ("hello-world", "failing"), strict=True):
        assert call[call.index("-f") + 1] == str(
            REPO_ROOT / "tests" / "e2e" / "bundles" / bundle / "pipeline.yaml"
        )
    assert full_run.has("kubectl", "apply", "-f", "-"), "the local-registry-hosting ConfigMap"


def test_the_image_is_built_loaded_and_installed_by_the_chart(full_run: Rehearsal) -> None:
    build = full_run.call("docker", "build")
    assert build[build.index("-t") + 1] == "kubernaut-wfe:e2e"
    assert build[build.index("-f") + 1] == str(REPO_ROOT / "Dockerfile")
    assert full_run.call("kind", "load", "docker-image") == [
        "kind", "load", "docker-image", "kubernaut-wfe:e2e", "--name", CLUSTER,
    ]  # fmt: skip
    install = full_run.call("helm", "install")
    assert install[2:4] == ["kubernaut-wfe", str(REPO_ROOT / "charts" / "kubernaut-wfe")]
    settings = {install[i + 1] for i, arg in enumerate(install) if arg == "--set"}
    assert {
        "image.tag=e2e",
        "image.pullPolicy=Never",
        "auditService.enabled=true",
        "config.execution.cooldownPeriod=10s",
    } <= settings


def test_pytest_runs_against_kind_after_the_controller_is_ready(full_run: Rehearsal) -> None:
    rollout = full_run.call(
        "kubectl",
        "-n",
        "kubernaut-system",
        "rollout",
        "status",
        "deployment/kubernaut-wfe-controller",
    )
    assert any(arg.startswith("--timeout=") for arg in rollout)
    health = [
        call for call in full_run.calls if call[0] == "curl" and call[-1].endswith("/healthz")
    ]
    assert health, "the probes are checked through the port-forward"
    pytest_call = full_run.call("pytest")
    assert pytest_call[1] == "E2E_TARGET=kind"
    assert pytest_call[2].startswith("KUBECONFIG=")
    assert pytest_call[2] != "KUBECONFIG="
    assert pytest_call[3] == "E2E_BUNDLE_REGISTRY=172.18.0.5:5000"
    assert pytest_call[4] == str(REPO_ROOT / "tests" / "e2e")
    assert full_run.index("pytest") > full_run.index("curl", "-fsS", "-o", "/dev/null")


def test_keep_cluster_leaves_the_cluster(stubs: Path, system_bin: Path) -> None:
    run = rehearse(stubs, system_bin, KEEP_CLUSTER="1")
    assert run.returncode == 0, run.stderr
    assert not run.has("kind", "delete")
    assert "KEEP_CLUSTER=1" in run.stderr


def test_a_failing_test_run_fails_the_script_and_still_tears_down(
    stubs: Path, system_bin: Path
) -> None:
    run = rehearse(stubs, system_bin, PYTEST_RC="3")
    assert run.returncode == 3
    assert run.index("kind", "delete", "cluster") > run.index("pytest")


def test_a_controller_that_never_gets_ready_is_diagnosed(stubs: Path, system_bin: Path) -> None:
    run = rehearse(
        stubs, system_bin, STUB_FAIL="rollout status deployment/kubernaut-wfe-controller"
    )
    assert run.returncode != 0
    assert "did not become Ready" in run.stderr
    assert not run.has("pytest")
    failed = run.index("kubectl", "-n", "kubernaut-system", "rollout", "status",
                       "deployment/kubernaut-wfe-controller")  # fmt: skip
    diagnostics = [
        run.index("kubectl", "-n", "kubernaut-system", "get", "pods"),
        run.index("kubectl", "-n", "kubernaut-system", "describe", "pods"),
        run.index("kubectl", "-n", "kubernaut-system", "get", "events"),
        run.index("kubectl", "-n", "kubernaut-system", "logs"),
    ]
    assert failed < min(diagnostics)
    assert max(diagnostics) < run.index("kind", "delete", "cluster")


def test_a_tampered_release_is_never_applied(stubs: Path, system_bin: Path) -> None:
    run = rehearse(stubs, system_bin, TEKTON_RELEASE_SHA256="0" * 64)
    assert run.returncode != 0
    assert "does not match TEKTON_RELEASE_SHA256" in run.stderr
    assert not run.has("kubectl", "apply")
    assert run.has("kind", "delete", "cluster")


def test_a_malformed_release_digest_stops_before_anything_starts(
    stubs: Path, system_bin: Path
) -> None:
    run = rehearse(stubs, system_bin, TEKTON_RELEASE_SHA256="not-a-digest")
    assert run.returncode == 2
    assert "TEKTON_RELEASE_SHA256 must be the sha256" in run.stderr
    assert not run.has("kind")


def test_without_a_release_digest_the_pinned_release_is_applied_and_its_digest_printed(
    stubs: Path, system_bin: Path
) -> None:
    run = rehearse(stubs, system_bin, TEKTON_RELEASE_SHA256="")
    assert run.returncode == 0, run.stderr
    assert run.has("kubectl", "apply")
    assert f"release.yaml sha256: {FAKE_RELEASE_SHA256}" in run.stderr


@pytest.mark.parametrize("missing", TOOLS)
def test_a_missing_tool_stops_at_once_naming_it(
    stubs: Path, system_bin: Path, missing: str
) -> None:
    run = rehearse(stubs, system_bin, remove=missing)
    assert run.returncode == 2
    assert f"missing: {missing}" in run.stderr
    assert run.calls == []


def test_an_unusable_docker_stops_at_once(stubs: Path, system_bin: Path) -> None:
    run = rehearse(stubs, system_bin, STUB_FAIL="docker info")
    assert run.returncode == 2
    assert "docker is installed but not usable" in run.stderr
    assert [call[:2] for call in run.calls] == [["docker", "info"]]


def _kind_prerequisites_present() -> bool:
    if any(shutil.which(tool) is None for tool in TOOLS):
        return False
    return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0


def test_on_a_machine_without_docker_the_kind_target_fails_fast() -> None:
    if _kind_prerequisites_present():
        pytest.skip("this machine can run the Kind e2e; the fail-fast path does not apply")
    completed = subprocess.run(
        ["bash", str(SCRIPT)],
        env={**os.environ, "E2E_TARGET": "kind", "TEKTON_RELEASE_SHA256": FAKE_RELEASE_SHA256},
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert completed.returncode == 2
    assert completed.stderr.startswith("error: ")
    assert (
        "missing:" in completed.stderr or "docker is installed but not usable" in completed.stderr
    )
