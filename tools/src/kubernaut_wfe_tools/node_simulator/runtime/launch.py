"""The container launcher: run as root by `PodSandbox.run`, inside the pod's netns and a
private mount namespace, it builds the container's root filesystem and execs its process.

`python launch.py <spec.json>` (by path, not `-m`: importing the package would load the node
stand-in, httpx and the product). Only the standard library: this file is the whole launcher.
Any failure is one line on stderr, "container <name>: <what failed>", and exit code 128.
"""

from __future__ import annotations

import ctypes
import json
import os
import socket
import stat
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

LAUNCHER_ERROR_CODE = 128
MS_RDONLY = 0x1
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
PR_SET_NO_NEW_PRIVS = 38
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class LaunchError(Exception):
    """A step that failed; its text is the log line after "container <name>: "."""


@dataclass(frozen=True)
class Bind:
    """A host path bound at `target` in the container."""

    source: str
    target: str
    read_only: bool


@dataclass(frozen=True)
class Launch:
    """The document `PodSandbox.run` wrote."""

    name: str
    argv: list[str]
    env: dict[str, str]
    working_dir: str
    uid: int | None
    gid: int | None
    supplemental_groups: list[int]
    read_only_root: bool
    no_new_privileges: bool
    hostname: str | None
    binds: list[Bind]
    upper: str
    work: str
    merged: str
    cgroup_procs_fd: int | None


def read_document(document: Mapping[str, Any]) -> Launch:
    """The launch a JSON document asks for."""
    rootfs = document["rootfs"]
    return Launch(
        name=str(document["name"]),
        argv=[str(arg) for arg in document["argv"]],
        env={str(key): str(value) for key, value in document["env"].items()},
        working_dir=str(document["working_dir"]),
        uid=document["uid"],
        gid=document["gid"],
        supplemental_groups=[int(group) for group in document["supplemental_groups"]],
        read_only_root=bool(document["read_only_root"]),
        no_new_privileges=bool(document["no_new_privileges"]),
        hostname=document.get("hostname"),
        binds=[
            Bind(str(bind["source"]), str(bind["target"]), bool(bind["read_only"]))
            for bind in document["binds"]
        ],
        upper=str(rootfs["upper"]),
        work=str(rootfs["work"]),
        merged=str(rootfs["merged"]),
        cgroup_procs_fd=document["cgroup_procs_fd"],
    )


def executable_candidates(argv0: str, env: Mapping[str, str]) -> list[str]:
    """Where argv[0] is looked for, in order: itself when it holds a slash, else each
    directory of the environment's PATH (the usual default when PATH is unset)."""
    if "/" in argv0:
        return [argv0]
    directories = env.get("PATH", DEFAULT_PATH).split(":")
    return [str(PurePosixPath(directory or ".") / argv0) for directory in directories]


def ancestors(path: str) -> Iterator[str]:
    """Every directory above absolute `path`, from the top, without `/` itself."""
    parts = PurePosixPath(path).parts[1:-1]
    for depth in range(1, len(parts) + 1):
        yield "/" + "/".join(parts[:depth])


def _libc_call(what: str, result: int) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise LaunchError(f"{what}: {os.strerror(errno)}")


_LIBC = ctypes.CDLL(None, use_errno=True)


def _mount(
    source: str | None, target: str, fstype: str | None, flags: int, data: str | None
) -> None:
    encoded = [
        None if value is None else value.encode() for value in (source, target, fstype, data)
    ]
    _libc_call(
        f"mount {source or ''} on {target}",
        _LIBC.mount(encoded[0], encoded[1], encoded[2], ctypes.c_ulong(flags), encoded[3]),
    )


def _bind(source: str, target: str, *, read_only: bool) -> None:
    _mount(source, target, None, MS_BIND | MS_REC, None)
    if read_only:
        _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY, None)


MAX_SYMLINKS = 40


def resolve_within(rootfs: str, target: str) -> str:
    """`target` as the container will see it, as a host path under `rootfs`: each symbolic link
    on the way is followed inside the root (an absolute link such as `/var/run -> /run` starts
    again at `rootfs`, never at the host's `/`), and `..` never climbs above it."""
    pending = [part for part in target.split("/") if part not in {"", "."}]
    resolved: list[str] = []
    hops = 0
    while pending:
        part = pending.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = os.path.join(rootfs, *resolved, part)
        if os.path.islink(candidate):
            hops += 1
            if hops > MAX_SYMLINKS:
                raise LaunchError(f"too many levels of symbolic links in {target}")
            link = os.readlink(candidate)
            if link.startswith("/"):
                resolved = []
            pending = [p for p in link.split("/") if p not in {"", "."}] + pending
            continue
        resolved.append(part)
    return os.path.join(rootfs, *resolved)


def _mount_point(rootfs: str, target: str, *, directory: bool) -> str:
    path = resolve_within(rootfs, target)
    if directory:
        os.makedirs(path, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if not os.path.exists(path):
            with open(path, "a"):
                pass
    return path


def _let_others_traverse(paths: Iterable[str]) -> None:
    """o+x on each directory above (and at) `paths`, in the overlay's copy only: a non-root
    process must reach the interpreter under /root (mode 700) and the image's files."""
    seen: set[str] = set()
    for path in paths:
        for directory in [*ancestors(path), path]:
            if directory in seen or not os.path.isdir(directory):
                continue
            seen.add(directory)
            mode = os.stat(directory).st_mode
            if not mode & stat.S_IXOTH:
                os.chmod(directory, stat.S_IMODE(mode) | stat.S_IXOTH)


def _resolve_executable(launch: Launch) -> str:
    for candidate in executable_candidates(launch.argv[0], launch.env):
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise LaunchError(f"executable file not found in $PATH: {launch.argv[0]!r}")


def _build_rootfs(launch: Launch) -> None:
    if launch.cgroup_procs_fd is not None:
        # An open descriptor: `ip netns exec` mounted a fresh /sys, without the cgroup tree.
        try:
            os.write(launch.cgroup_procs_fd, str(os.getpid()).encode())
            os.close(launch.cgroup_procs_fd)
        except OSError as error:
            raise LaunchError(f"join the memory cgroup: {error}") from error
    root = launch.merged
    for directory in (launch.upper, launch.work, root):
        os.makedirs(directory, exist_ok=True)
    _mount(
        "overlay", root, "overlay", 0, f"lowerdir=/,upperdir={launch.upper},workdir={launch.work}"
    )
    _mount("proc", _mount_point(root, "/proc", directory=True), "proc", 0, None)
    _bind("/dev", _mount_point(root, "/dev", directory=True), read_only=False)
    _bind("/sys", _mount_point(root, "/sys", directory=True), read_only=False)
    for bind in launch.binds:
        if not os.path.exists(bind.source):
            raise LaunchError(f"mount source {bind.source} does not exist")
        target = _mount_point(root, bind.target, directory=os.path.isdir(bind.source))
        _bind(bind.source, target, read_only=bind.read_only)
    os.makedirs(root + launch.working_dir, exist_ok=True)


def _enter(launch: Launch) -> str:
    """Chroot into the built rootfs and prepare it; returns the executable to run."""
    if launch.hostname:
        socket.sethostname(launch.hostname)  # in the container's own UTS namespace
    os.chroot(launch.merged)
    os.chdir(launch.working_dir)  # a relative argv[0] is found from there, as runc does
    executable = _resolve_executable(launch)
    _let_others_traverse(
        [
            os.path.realpath(sys.base_prefix),
            os.path.abspath(executable),
            os.path.realpath(executable),
            launch.working_dir,
            *(bind.source for bind in launch.binds),
            *(bind.target for bind in launch.binds),
        ]
    )
    if launch.read_only_root:
        _mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY, None)
    return executable


def _drop_privileges(launch: Launch) -> None:
    os.setgroups(launch.supplemental_groups)
    if launch.gid is not None or launch.uid is not None:
        os.setgid(launch.gid if launch.gid is not None else 0)
    if launch.uid is not None:
        os.setuid(launch.uid)
    if launch.no_new_privileges:
        _libc_call("prctl(PR_SET_NO_NEW_PRIVS)", _LIBC.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))


def main(arguments: list[str]) -> int:
    """Build the container and exec it; returns only on failure (128)."""
    name = "?"
    try:
        with open(arguments[0]) as document:
            launch = read_document(json.load(document))
        name = launch.name
        _build_rootfs(launch)
        executable = _enter(launch)
        _drop_privileges(launch)
        os.execve(executable, launch.argv, launch.env)  # noqa: S606 the container's own argv
    except (LaunchError, OSError, ValueError, KeyError, IndexError) as error:
        sys.stderr.write(f"container {name}: {error}\n")
        sys.stderr.flush()
    return LAUNCHER_ERROR_CODE


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
