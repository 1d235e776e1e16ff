"""The images a node stand-in can run as local processes: what a container runtime reads from an
image's configuration (entrypoint, command, user, working directory, environment), and which
host directories stand in for the image's files.

The controller's image is read from the project's own `Dockerfile` (its final stage), so the pod
runs what the image would: `ENTRYPOINT`, `CMD`, `USER`, `WORKDIR` and `ENV` as written there, with
the project's installation (this interpreter's environment) at the path the image installs to.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from kubernaut_wfe_tools.testing.testcluster.build import REPO_ROOT

CONTROLLER_IMAGE_REPOSITORY = "kubernaut-wfe"
IMAGE_INSTALL_DIR = "/opt/kubernaut-wfe"
"""Where the Dockerfile installs the controller (a virtual environment)."""
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


class ImageError(ValueError):
    """An image configuration that cannot be read."""


@dataclass(frozen=True)
class ImageConfig:
    """An image's run configuration (the OCI image config's `Entrypoint`, `Cmd`, `User`,
    `WorkingDir`, `Env`) and `binds`: host paths mounted read-only at the image's paths."""

    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    user: int | None = None
    group: int | None = None
    working_dir: str = "/"
    env: Mapping[str, str] = field(default_factory=dict)
    binds: tuple[tuple[Path, str], ...] = ()
    host_paths: tuple[Path, ...] = ()
    """Host directories the image's files refer to by path (see `ContainerSpec.host_paths`)."""


def repository_of(reference: str) -> str:
    """`registry:5000/team/kubernaut-wfe:1.2@sha256:…` → `kubernaut-wfe`: the last path
    component without tag or digest (what the catalog matches on)."""
    name = reference.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[0]


def read_dockerfile(text: str) -> ImageConfig:
    """The run configuration of the Dockerfile's final stage. Only what it is built from is
    read: `FROM` starts a stage, `ENTRYPOINT`/`CMD` (JSON form), `USER uid[:gid]` (numeric),
    `WORKDIR`, `ENV` (`KEY=value` pairs; `$KEY` and `${KEY}` expand to the values from before
    the instruction, an undefined one to nothing, as Docker does; the base image's `PATH` is
    taken to be the OCI default)."""
    config = ImageConfig()
    env: dict[str, str] = {}
    for instruction, argument in dockerfile_instructions(text):
        if instruction == "FROM":
            config, env = ImageConfig(), {"PATH": DEFAULT_PATH}
        elif instruction == "ENTRYPOINT":
            config = replace(config, entrypoint=_json_array(instruction, argument))
        elif instruction == "CMD":
            config = replace(config, cmd=_json_array(instruction, argument))
        elif instruction == "USER":
            user, _, group = argument.partition(":")
            if not user.isdigit() or (group and not group.isdigit()):
                raise ImageError(f"USER {argument!r}: only numeric uid[:gid] is supported")
            config = replace(config, user=int(user), group=int(group) if group else None)
        elif instruction == "WORKDIR":
            config = replace(config, working_dir=argument)
        elif instruction == "ENV":
            before = dict(env)
            for pair in shlex.split(argument):
                key, equals, value = pair.partition("=")
                if not equals:
                    raise ImageError(f"ENV {pair!r}: expected KEY=value")
                env[key] = _expand(value, before)
    return replace(config, env=env)


def controller_image(dockerfile: Path = REPO_ROOT / "Dockerfile") -> ImageConfig:
    """The controller's image as the project's Dockerfile builds it, with this environment (the
    project's installation, `make install`) at `/opt/kubernaut-wfe`."""
    config = read_dockerfile(dockerfile.read_text(encoding="utf-8"))
    return ImageConfig(
        entrypoint=config.entrypoint,
        cmd=config.cmd,
        user=config.user,
        group=config.group,
        working_dir=config.working_dir,
        env=config.env,
        binds=((Path(sys.prefix), IMAGE_INSTALL_DIR),),
        host_paths=project_paths(),
    )


def project_paths() -> tuple[Path, ...]:
    """What this Python environment's files refer to by absolute path: the checkout (its
    editable installs' sources, and the virtual environment when it lies there, as `make
    install` makes it) and the environment itself otherwise; its scripts' interpreter lines name
    the environment's own path."""
    environment = Path(sys.prefix)
    if environment.is_relative_to(REPO_ROOT):
        return (REPO_ROOT,)
    return (REPO_ROOT, environment)


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, argument) per instruction, continuation lines joined, comments dropped."""
    found: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):  # inside a continuation too, as Docker skips them
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        if whole:
            instruction, _, argument = whole.partition(" ")
            found.append((instruction.upper(), argument.strip()))
    return found


def _json_array(instruction: str, argument: str) -> tuple[str, ...]:
    try:
        value = json.loads(argument)
    except ValueError as error:
        raise ImageError(f"{instruction} {argument!r}: only the JSON form is supported") from error
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ImageError(f"{instruction} {argument!r}: expected a JSON array of strings")
    return tuple(value)


def _expand(value: str, env: Mapping[str, str]) -> str:
    return _VARIABLE.sub(lambda found: env.get(found.group(1) or found.group(2), ""), value)
