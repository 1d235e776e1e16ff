"""Build the test cluster's binaries from the Go module in `tools/testcluster/`.

One `go build` compiles kube-apiserver, kube-controller-manager, kubectl (all of the release that
`go.mod` pins) and our etcd program into a cache outside the work tree, keyed by the pinned
versions; GOCACHE and GOMODCACHE live inside it, so nothing built or downloaded touches the
repository and a second build takes seconds.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

REPO_ROOT = Path(__file__).resolve().parents[5]
MODULE_DIR = REPO_ROOT / "tools" / "testcluster"
PROGRAMS = {
    "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
    "kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
    "kubectl": "k8s.io/kubernetes/cmd/kubectl",
    "etcd": "./cmd/etcd",
}
INSTALL_GO = "install Go 1.26 or newer, see docs/testing.md"


class BuildError(RuntimeError):
    """The binaries cannot be built here; the message says why and what to do."""


@dataclass(frozen=True)
class Pins:
    """The versions `tools/testcluster/go.mod` pins."""

    kubernetes: str
    etcd: str

    @property
    def minor(self) -> str:
        return self.kubernetes.lstrip("v").split(".")[1]


def read_pins(module_dir: Path = MODULE_DIR) -> Pins:
    text = (module_dir / "go.mod").read_text(encoding="utf-8")

    def version(module: str) -> str:
        found = re.search(rf"^\s*(?:require\s+)?{re.escape(module)}\s+(v\S+)", text, re.MULTILINE)
        if found is None:
            raise BuildError(f"{module_dir / 'go.mod'} does not require {module}")
        return found.group(1)

    return Pins(kubernetes=version("k8s.io/kubernetes"), etcd=version("go.etcd.io/etcd/server/v3"))


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kubernaut-wfe" / "testcluster"


def cache_dir(module_dir: Path = MODULE_DIR) -> Path:
    """`<cache>/k8s-<release>-etcd-<version>`: GOCACHE and GOMODCACHE of these pins, and the
    binaries of each state of our module's sources."""
    pins = read_pins(module_dir)
    return cache_root() / f"k8s-{pins.kubernetes}-etcd-{pins.etcd}"


def sources_digest(module_dir: Path = MODULE_DIR) -> str:
    """A digest of everything the build reads of ours (go.mod, go.sum, our Go files, stamps)."""
    digest = hashlib.sha256()
    for path in sorted([module_dir / "go.mod", module_dir / "go.sum", *module_dir.rglob("*.go")]):
        digest.update(path.relative_to(module_dir).as_posix().encode())
        digest.update(path.read_bytes())
    digest.update(" ".join(ldflags(read_pins(module_dir))).encode())
    return digest.hexdigest()[:12]


def ldflags(pins: Pins, build_date: str = "") -> list[str]:
    """Version stamps as Kubernetes' own build sets them (hack/lib/version.sh), so `kubectl
    version` names the release. The module proxy does not say which commit a release was tagged
    on: the tree state says the source is a release archive."""
    stamps = {
        "gitVersion": pins.kubernetes,
        "gitMajor": pins.kubernetes.lstrip("v").split(".")[0],
        "gitMinor": pins.minor,
        "gitTreeState": "archive",
    }
    if build_date:
        stamps["buildDate"] = build_date
    flags = ["-s", "-w"]
    for prefix in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [f"-X {prefix}.{name}={value}" for name, value in stamps.items()]
    return flags


def bin_dir(module_dir: Path = MODULE_DIR) -> Path:
    return cache_dir(module_dir) / f"bin-{sources_digest(module_dir)}"


def built(module_dir: Path = MODULE_DIR) -> Path | None:
    """The directory holding every binary of the current pins, if they are built."""
    directory = bin_dir(module_dir)
    if (
        all((directory / name).is_file() for name in PROGRAMS)
        and (directory / ".complete").is_file()
    ):
        return directory
    return None


def not_built_reason() -> str:
    """Why there are no binaries to run (Go missing, or the build not run) and what to do."""
    if shutil.which("go") is None:
        return f"the real API server cannot be built without Go: {INSTALL_GO}"
    return "the real API server is not built: run `make test-cluster-build` (~9 min once)"


def build(module_dir: Path = MODULE_DIR, *, out: TextIO = sys.stderr) -> Path:
    """Build the binaries unless built; returns their directory."""
    if (done := built(module_dir)) is not None:
        print(f"test cluster binaries up to date in {done}", file=out)
        return done
    go = shutil.which("go")
    if go is None:
        raise BuildError(f"`go` is not on PATH: {INSTALL_GO}")
    pins = read_pins(module_dir)
    build_date = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    root, target = cache_dir(module_dir), bin_dir(module_dir)
    env = {
        **os.environ,
        "GOCACHE": str(root / "gocache"),
        "GOMODCACHE": str(root / "gomodcache"),
        "GOFLAGS": "-mod=readonly",
        "CGO_ENABLED": "0",
    }
    command = [go, "build", "-v", "-trimpath", "-o", f"{target}/",
               "-ldflags", " ".join(ldflags(pins, build_date)), *PROGRAMS.values()]  # fmt: skip
    print(f"building Kubernetes {pins.kubernetes} (kube-apiserver, kube-controller-manager, "
          f"kubectl) and etcd {pins.etcd} into {target}", file=out)  # fmt: skip
    started = time.monotonic()
    _run_with_progress(command, module_dir, env, out, started)
    (target / ".complete").write_text(" ".join(command) + "\n", encoding="utf-8")
    print(f"built in {time.monotonic() - started:.0f} s", file=out)
    return target


def _run_with_progress(
    command: list[str], cwd: Path, env: dict[str, str], out: TextIO, started: float
) -> None:
    """Run the build, printing a line every 200 compiled packages and the whole error output if
    it fails."""
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    packages, tail = 0, []
    for line in process.stdout:
        if line.startswith(("go: downloading", "#")) or " " in line.strip():
            tail.append(line)
            if line.startswith("go: downloading"):
                print(line.rstrip(), file=out)
            continue
        packages += 1
        if packages % 200 == 0:
            print(f"  {packages} packages compiled ({time.monotonic() - started:.0f} s)", file=out)
    if process.wait() != 0:
        raise BuildError("go build failed:\n" + "".join(tail[-60:]))
