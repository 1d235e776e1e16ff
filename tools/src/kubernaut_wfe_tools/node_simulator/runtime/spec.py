"""What a container is asked to be (`ContainerSpec`), how it ended (`ExitStatus`), and the
document the launcher reads (pure)."""

from __future__ import annotations

import signal
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Mount:
    """A volume at its mountPath: a host directory (or file) the kubelet side prepared."""

    source: Path
    target: str
    read_only: bool = False


@dataclass(frozen=True)
class ContainerSpec:
    """One container start, resolved from the pod spec by the kubelet side."""

    name: str
    argv: tuple[str, ...]
    """command + args; argv[0] is looked up on the PATH of `env` unless absolute."""
    env: Mapping[str, str]
    """The complete environment."""
    working_dir: str = "/"
    uid: int | None = None
    """None: stay root."""
    gid: int | None = None
    supplemental_groups: tuple[int, ...] = ()
    read_only_root: bool = False
    """readOnlyRootFilesystem."""
    no_new_privileges: bool = False
    """allowPrivilegeEscalation: false."""
    mounts: tuple[Mount, ...] = ()
    memory_limit_bytes: int | None = None
    extra_binds: tuple[tuple[Path, str], ...] = ()
    """The image's filesystem: (host path, container path), bound read-only."""
    hostname: str | None = None
    """The container's host name (its own UTS namespace): a pod's is the pod's name."""
    host_paths: tuple[Path, ...] = ()
    """Host directories the image's files point into (a virtual environment's interpreter and
    scripts, an editable install's sources): bound read-only at their own paths after the
    volumes, so that no volume (an emptyDir at /tmp) hides them."""


@dataclass(frozen=True)
class ExitStatus:
    """How a container ended, as the kubelet reports it."""

    code: int
    """0-255; killed by signal N: 128 + N."""
    oom_killed: bool
    """The kernel's OOM killer ended it in its memory cgroup."""


@dataclass(frozen=True)
class RootfsLayout:
    """Where one container start keeps its overlay (all under the pod's state dir)."""

    upper: Path
    work: Path
    merged: Path

    @classmethod
    def under(cls, directory: Path) -> RootfsLayout:
        """The layout in `directory`."""
        return cls(upper=directory / "upper", work=directory / "work", merged=directory / "rootfs")


def exit_code(returncode: int) -> int:
    """The kubelet's exit code for an asyncio/subprocess returncode (-N: signal N)."""
    if returncode < 0:
        return 128 + signal.Signals(-returncode).value
    return returncode & 0xFF


def launch_document(
    spec: ContainerSpec, rootfs: RootfsLayout, cgroup_procs_fd: int | None
) -> dict[str, Any]:
    """The JSON document `launch.py` reads: the spec, its overlay dirs and the inherited
    descriptor of the `cgroup.procs` file the launcher joins (None: no memory cgroup)."""
    for mount in spec.mounts:
        _require_absolute(spec.name, mount.target)
    for _, target in spec.extra_binds:
        _require_absolute(spec.name, target)
    _require_absolute(spec.name, spec.working_dir)
    if not spec.argv:
        raise ValueError(f"container {spec.name}: empty argv")
    return {
        "name": spec.name,
        "argv": list(spec.argv),
        "env": dict(spec.env),
        "working_dir": spec.working_dir,
        "uid": spec.uid,
        "gid": spec.gid,
        "supplemental_groups": list(spec.supplemental_groups),
        "read_only_root": spec.read_only_root,
        "no_new_privileges": spec.no_new_privileges,
        "hostname": spec.hostname,
        "binds": [
            {"source": str(source), "target": target, "read_only": True}
            for source, target in spec.extra_binds
        ]
        + [
            {"source": str(mount.source), "target": mount.target, "read_only": mount.read_only}
            for mount in spec.mounts
        ]
        + [
            {"source": str(path), "target": str(path), "read_only": True}
            for path in spec.host_paths
        ],
        "rootfs": {
            "upper": str(rootfs.upper),
            "work": str(rootfs.work),
            "merged": str(rootfs.merged),
        },
        "cgroup_procs_fd": cgroup_procs_fd,
    }


def _require_absolute(container: str, path: str) -> None:
    if not path.startswith("/"):
        raise ValueError(f"container {container}: {path!r} is not an absolute path")
