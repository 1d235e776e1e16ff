"""The container runtime's launch document and the launcher's pure helpers."""

from __future__ import annotations

import ast
import signal
import sys
from pathlib import Path

import pytest

from kubernaut_wfe_tools.node_simulator.runtime import ContainerSpec, Mount, launch
from kubernaut_wfe_tools.node_simulator.runtime.spec import (
    RootfsLayout,
    exit_code,
    launch_document,
)

SPEC = ContainerSpec(
    name="controller",
    argv=("kubernaut-wfe", "run", "--config", "/etc/kubernaut-wfe/config.yaml"),
    env={"PATH": "/opt/kubernaut-wfe/bin:/usr/bin", "POD_NAMESPACE": "kubernaut-system"},
    working_dir="/work",
    uid=65532,
    gid=65532,
    supplemental_groups=(65532, 1000),
    read_only_root=True,
    no_new_privileges=True,
    mounts=(
        Mount(Path("/var/pods/uid/config"), "/etc/kubernaut-wfe", read_only=True),
        Mount(Path("/var/pods/uid/tmp"), "/tmp"),
    ),
    memory_limit_bytes=256 * 1024 * 1024,
    extra_binds=((Path("/work/main/.venv"), "/opt/kubernaut-wfe"),),
    hostname="kubernaut-wfe-controller-5d9c7-abcde",
    host_paths=(Path("/tmp/checkout"),),
)


def test_the_launcher_reads_the_document_the_sandbox_writes() -> None:
    document = launch_document(SPEC, RootfsLayout.under(Path("/state/controller-0")), 7)
    read = launch.read_document(document)
    assert read == launch.Launch(
        name="controller",
        argv=["kubernaut-wfe", "run", "--config", "/etc/kubernaut-wfe/config.yaml"],
        env={"PATH": "/opt/kubernaut-wfe/bin:/usr/bin", "POD_NAMESPACE": "kubernaut-system"},
        working_dir="/work",
        uid=65532,
        gid=65532,
        supplemental_groups=[65532, 1000],
        read_only_root=True,
        no_new_privileges=True,
        hostname="kubernaut-wfe-controller-5d9c7-abcde",
        binds=[
            launch.Bind("/work/main/.venv", "/opt/kubernaut-wfe", read_only=True),
            launch.Bind("/var/pods/uid/config", "/etc/kubernaut-wfe", read_only=True),
            launch.Bind("/var/pods/uid/tmp", "/tmp", read_only=False),
            # after the volumes: a checkout under /tmp stays visible above the emptyDir
            launch.Bind("/tmp/checkout", "/tmp/checkout", read_only=True),
        ],
        upper="/state/controller-0/upper",
        work="/state/controller-0/work",
        merged="/state/controller-0/rootfs",
        cgroup_procs_fd=7,
    )


@pytest.mark.parametrize(
    "spec",
    [
        ContainerSpec(name="c", argv=(), env={}),
        ContainerSpec(name="c", argv=("x",), env={}, working_dir="relative"),
        ContainerSpec(name="c", argv=("x",), env={}, mounts=(Mount(Path("/a"), "etc/x"),)),
    ],
)
def test_a_spec_the_launcher_cannot_follow_is_refused(spec: ContainerSpec) -> None:
    with pytest.raises(ValueError, match="container c: "):
        launch_document(spec, RootfsLayout.under(Path("/state/c-0")), None)


def test_argv0_is_looked_up_on_the_environments_path() -> None:
    assert launch.executable_candidates("kubernaut-wfe", {"PATH": "/opt/bin::/usr/bin"}) == [
        "/opt/bin/kubernaut-wfe",
        "kubernaut-wfe",
        "/usr/bin/kubernaut-wfe",
    ]
    assert launch.executable_candidates("./run.sh", {"PATH": "/usr/bin"}) == ["./run.sh"]
    assert launch.executable_candidates("/bin/sh", {}) == ["/bin/sh"]
    assert launch.executable_candidates("sh", {})[-1] == "/bin/sh"


def test_ancestors_run_from_the_top_without_the_root() -> None:
    assert list(launch.ancestors("/root/.pyenv/versions/3.11.7/bin/python")) == [
        "/root",
        "/root/.pyenv",
        "/root/.pyenv/versions",
        "/root/.pyenv/versions/3.11.7",
        "/root/.pyenv/versions/3.11.7/bin",
    ]
    assert list(launch.ancestors("/usr")) == []


@pytest.mark.parametrize(
    ("returncode", "code"),
    [(0, 0), (3, 3), (128, 128), (-signal.SIGKILL, 137), (-signal.SIGTERM, 143)],
)
def test_exit_codes_are_the_kubelets(returncode: int, code: int) -> None:
    assert exit_code(returncode) == code


def test_the_launcher_imports_only_the_standard_library() -> None:
    tree = ast.parse(Path(launch.__file__).read_text())
    imported = {
        name.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for name in node.names
    } | {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    }
    assert imported
    assert imported <= set(sys.stdlib_module_names)


def test_a_mount_target_follows_symbolic_links_inside_the_root_only(tmp_path: Path) -> None:
    """`/var/run -> /run` (absolute) must lead to `<root>/run`, never to the host's `/run`."""
    root = tmp_path / "root"
    (root / "run").mkdir(parents=True)
    (root / "var").mkdir()
    (root / "var" / "run").symlink_to("/run")
    (root / "etc").mkdir()
    (root / "etc" / "here").symlink_to("../run/x")
    resolved = launch.resolve_within(str(root), "/var/run/secrets/kubernetes.io/serviceaccount")
    assert resolved == str(root / "run" / "secrets" / "kubernetes.io" / "serviceaccount")
    assert launch.resolve_within(str(root), "/etc/here/y") == str(root / "run" / "x" / "y")
    assert launch.resolve_within(str(root), "/../../etc") == str(root / "etc")


def test_a_symbolic_link_loop_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to("/b")
    (tmp_path / "b").symlink_to("/a")
    with pytest.raises(launch.LaunchError, match="symbolic links"):
        launch.resolve_within(str(tmp_path), "/a/x")
