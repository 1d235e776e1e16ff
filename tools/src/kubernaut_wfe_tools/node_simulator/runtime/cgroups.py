"""Memory cgroups for containers: v1 (the `memory` hierarchy) or v2 (unified). The pure parts
read /proc/self/cgroup and the OOM counters; `MemoryCgroups` makes, watches and removes them."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")
V1_MEMORY_ROOT = CGROUP_ROOT / "memory"
REMOVE_ATTEMPTS = 50
REMOVE_PAUSE_SECONDS = 0.02
"""A cgroup whose last process just died can be busy for a moment: rmdir is tried again."""


@dataclass(frozen=True)
class MemoryCgroup:
    """One container start's memory cgroup."""

    path: Path
    version: int

    @property
    def procs(self) -> Path:
        """The file a process writes its pid to, to join."""
        return self.path / "cgroup.procs"


def own_cgroup_path(proc_self_cgroup: str, version: int) -> str | None:
    """This process's path in the memory hierarchy (v1) or the unified one (v2), from the text
    of /proc/self/cgroup; None when it has none."""
    for line in proc_self_cgroup.splitlines():
        _, controllers, path = line.split(":", 2)
        if version == 1 and "memory" in controllers.split(","):
            return path
        if version == 2 and line.startswith("0::"):
            return path
    return None


def cgroup_name(uid_hex: str, container: str, start: int) -> str:
    """The child cgroup of one container start: `kwfe-<10 hex>-<container>-<start n>`."""
    return f"kwfe-{uid_hex}-{container}-{start}"


def counter(text: str, key: str) -> int | None:
    """The value of the `key N` line of a cgroup's flat keyed file (None: no such line)."""
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[0] == key:
            return int(fields[1])
    return None


def oom_killed_v1(oom_control: str, failcnt: str, exit_code: int) -> bool:
    """v1: `oom_kill N` of memory.oom_control; kernels without that line: the limit was hit
    (`memory.failcnt` > 0) and the process died of SIGKILL."""
    kills = counter(oom_control, "oom_kill")
    if kills is not None:
        return kills > 0
    return int(failcnt.strip() or 0) > 0 and exit_code == 128 + signal.SIGKILL


def oom_killed_v2(memory_events: str) -> bool:
    """v2: `oom_kill N` of memory.events."""
    return (counter(memory_events, "oom_kill") or 0) > 0


class CgroupUnavailableError(Exception):
    """No memory cgroup can be made here; the text says why."""


class MemoryCgroups:
    """Makes the containers' memory cgroups under this process's own cgroup."""

    def __init__(self) -> None:
        self._parent: tuple[Path, int] | None = None

    def _find_parent(self) -> tuple[Path, int]:
        if self._parent is not None:
            return self._parent
        own = Path("/proc/self/cgroup").read_text()
        if V1_MEMORY_ROOT.is_dir() and (V1_MEMORY_ROOT / "memory.limit_in_bytes").exists():
            path = own_cgroup_path(own, 1)
            if path is None:
                raise CgroupUnavailableError("/proc/self/cgroup names no memory cgroup")
            self._parent = (V1_MEMORY_ROOT / path.lstrip("/"), 1)
        elif "memory" in _read(CGROUP_ROOT / "cgroup.controllers").split():
            path = own_cgroup_path(own, 2)
            if path is None:
                raise CgroupUnavailableError("/proc/self/cgroup names no unified cgroup")
            parent = CGROUP_ROOT / path.lstrip("/")
            if "memory" not in _read(parent / "cgroup.subtree_control").split():
                try:
                    (parent / "cgroup.subtree_control").write_text("+memory")
                except OSError as error:
                    raise CgroupUnavailableError(
                        f"cannot enable the memory controller in {parent}: {error}"
                    ) from error
            self._parent = (parent, 2)
        else:
            raise CgroupUnavailableError(f"no memory controller under {CGROUP_ROOT}")
        return self._parent

    def create(self, name: str, limit_bytes: int) -> MemoryCgroup:
        """A fresh cgroup `name` limited to `limit_bytes`; raises `CgroupUnavailableError`."""
        try:
            parent, version = self._find_parent()
            cgroup = MemoryCgroup(parent / name, version)
            if cgroup.path.exists():
                self.remove(cgroup)
            cgroup.path.mkdir()
        except OSError as error:
            raise CgroupUnavailableError(f"cannot create a memory cgroup: {error}") from error
        try:
            if version == 1:
                (cgroup.path / "memory.limit_in_bytes").write_text(str(limit_bytes))
            else:
                (cgroup.path / "memory.max").write_text(str(limit_bytes))
                with contextlib.suppress(OSError):
                    (cgroup.path / "memory.swap.max").write_text("0")
        except OSError as error:
            self.remove(cgroup)
            raise CgroupUnavailableError(f"cannot set the memory limit: {error}") from error
        return cgroup

    @staticmethod
    def oom_killed(cgroup: MemoryCgroup, exit_code: int) -> bool:
        """Whether the kernel's OOM killer killed a process of `cgroup`."""
        if cgroup.version == 1:
            return oom_killed_v1(
                _read(cgroup.path / "memory.oom_control"),
                _read(cgroup.path / "memory.failcnt"),
                exit_code,
            )
        return oom_killed_v2(_read(cgroup.path / "memory.events"))

    @staticmethod
    def remove(cgroup: MemoryCgroup) -> None:
        """Kill what is left in `cgroup`, then remove it (blocking for at most about a
        second; left in place, with a warning, when it stays busy)."""
        for attempt in range(REMOVE_ATTEMPTS):
            for pid in _read(cgroup.procs).split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
            try:
                cgroup.path.rmdir()
            except FileNotFoundError:
                return
            except OSError as error:
                if attempt == REMOVE_ATTEMPTS - 1:
                    logger.warning("memory cgroup %s not removed: %s", cgroup.path, error)
                    return
                time.sleep(REMOVE_PAUSE_SECONDS)
            else:
                return


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""
