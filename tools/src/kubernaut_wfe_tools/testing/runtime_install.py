"""The product installed exactly as the image installs it: a venv with `requirements/runtime.txt`,
then the wheel of the repository root built and installed without dependencies (the Dockerfile's
builder stage). The memory benchmark runs the controller from it; a static test checks the wheel's
files and that every command it offers starts."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[4]
RUNTIME_VENV = REPO_ROOT / ".venv-runtime"
STAMP_NAME = ".runtime-stamp"
QUIET = ("--quiet", "--disable-pip-version-check")
# What the Dockerfile's builder stage copies before it builds the wheel (a static test compares).
IMAGE_SOURCES = ("pyproject.toml", "README.md", "src")


@dataclass(frozen=True)
class RuntimeInstall:
    python: Path
    wheel: Path

    @property
    def command(self) -> Path:
        return self.python.parent / "kubernaut-wfe"


def _source_digest() -> str:
    digest = hashlib.sha256()
    sources = [
        Path(__file__),
        REPO_ROOT / "requirements" / "runtime.txt",
        REPO_ROOT / "pyproject.toml",
    ]
    sources += sorted(
        path
        for path in (REPO_ROOT / "src").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and ".egg-info" not in str(path)
    )
    for path in sources:
        digest.update(str(path.relative_to(REPO_ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_runtime_install(venv: Path = RUNTIME_VENV) -> RuntimeInstall:
    """The runtime venv and the wheel in it, rebuilt when the lock file or the sources changed."""
    python = venv / "bin" / "python"
    wheels = venv / "wheels"
    stamp = venv / STAMP_NAME
    digest = _source_digest()
    built = sorted(wheels.glob("kubernaut_wfe-*.whl")) if wheels.is_dir() else []
    if python.exists() and built and stamp.is_file() and stamp.read_text() == digest:
        return RuntimeInstall(python, built[-1])
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip"]
    requirements = str(REPO_ROOT / "requirements" / "runtime.txt")
    _run([*pip, "install", *QUIET, "-r", requirements])
    for old in built:
        old.unlink()
    # Built as the Dockerfile builds it: by the venv's own pip, from a tree holding only what the
    # image copies (a checkout's build/ directory would add stale modules to the wheel).
    with tempfile.TemporaryDirectory() as context:
        for name in IMAGE_SOURCES:
            source = REPO_ROOT / name
            if source.is_dir():
                ignored = shutil.ignore_patterns("__pycache__", "*.egg-info")
                shutil.copytree(source, Path(context) / name, ignore=ignored)
            else:
                shutil.copy2(source, Path(context) / name)
        _run([*pip, "wheel", *QUIET, "--no-deps", "--wheel-dir", str(wheels), context])
    wheel = sorted(wheels.glob("kubernaut_wfe-*.whl"))[-1]
    _run([*pip, "install", *QUIET, "--no-deps", "--force-reinstall", str(wheel)])
    stamp.write_text(digest)
    return RuntimeInstall(python, wheel)


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}{done.stderr}"
        )
