"""The Dockerfile: a pinned base, a wheel built in a builder stage, a final stage holding only the
venv, a numeric non-root user, a read-only-root-friendly environment and the CLI entrypoint."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import pytest

from kubernaut_wfe_tools.node_simulator.service_pods.images import dockerfile_instructions
from kubernaut_wfe_tools.testing.runtime_install import IMAGE_SOURCES

from .conftest import REPO_ROOT  # noqa: TID252

PINNED_BASE = re.compile(r"^python:3\.11\.\d+-slim-bookworm@sha256:[0-9a-f]{64}$")


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for key, args in self.instructions if key == keyword]


@dataclass
class Dockerfile:
    args: dict[str, str]
    stages: list[Stage]


def parse(text: str) -> Dockerfile:
    """Instructions by stage (continuations joined, comments dropped, ARG defaults resolved),
    read as the node stand-in reads the image it runs (`dockerfile_instructions`)."""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for keyword, rest in dockerfile_instructions(text):
        if keyword == "ARG" and not stages:
            arg_name, _, default = rest.partition("=")
            args[arg_name] = default
        elif keyword == "FROM":
            parts = rest.split()
            base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], parts[0])
            stage_name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(base, stage_name))
        else:
            stages[-1].instructions.append((keyword, rest))
    return Dockerfile(args, stages)


@pytest.fixture(scope="module")
def dockerfile() -> Dockerfile:
    return parse((REPO_ROOT / "Dockerfile").read_text(encoding="utf-8"))


def test_every_stage_starts_from_the_pinned_base(dockerfile: Dockerfile) -> None:
    assert len(dockerfile.stages) >= 2
    for stage in dockerfile.stages:
        assert PINNED_BASE.match(stage.base), f"{stage.base} is not pinned by version and digest"


def test_the_builder_installs_the_runtime_lock_and_the_wheel_without_deps(
    dockerfile: Dockerfile,
) -> None:
    builder = dockerfile.stages[0]
    runs = " ".join(builder.all("RUN"))
    assert "-r requirements/runtime.txt" in runs
    assert re.search(r"pip wheel --no-deps", runs)
    assert re.search(r"pip install --no-deps \S+\.whl", runs)
    copies = " ".join(builder.all("COPY"))
    assert "requirements/runtime.txt" in copies


def test_nothing_of_development_enters_the_image(dockerfile: Dockerfile) -> None:
    text = (REPO_ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "requirements/dev.txt" not in text
    assert "[tools]" not in text
    assert "[dev]" not in text
    locked = (REPO_ROOT / "requirements" / "runtime.txt").read_text(encoding="utf-8")
    names = {line.split("==")[0] for line in locked.splitlines() if "==" in line}
    assert not names & {"kubernetes", "pytest", "kmock", "mypy", "ruff", "jsonschema"}


def test_the_final_stage_holds_only_the_venv(dockerfile: Dockerfile) -> None:
    final = dockerfile.stages[-1]
    builder = dockerfile.stages[0]
    assert builder.name is not None
    assert final.all("RUN") == [], "no package manager, compiler or shell step in the final stage"
    assert final.all("COPY") == [f"--from={builder.name} /opt/kubernaut-wfe /opt/kubernaut-wfe"]


def test_the_user_is_numeric_and_not_root(dockerfile: Dockerfile) -> None:
    users = dockerfile.stages[-1].all("USER")
    assert users, "the final stage sets USER"
    user = users[-1]
    assert re.fullmatch(r"\d+(:\d+)?", user), f"USER {user} must be numeric for runAsNonRoot"
    assert int(user.split(":")[0]) == 65532


def test_the_environment_suits_a_read_only_root(dockerfile: Dockerfile) -> None:
    env = " ".join(dockerfile.stages[-1].all("ENV"))
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    assert "HOME=/tmp" in env
    assert "PATH=/opt/kubernaut-wfe/bin:" in env


def test_the_entrypoint_is_the_cli_running_the_controller(dockerfile: Dockerfile) -> None:
    final = dockerfile.stages[-1]
    assert [json.loads(e) for e in final.all("ENTRYPOINT")] == [["kubernaut-wfe"]]
    assert [json.loads(c) for c in final.all("CMD")] == [["run"]]


def test_the_build_context_is_only_what_is_copied() -> None:
    patterns = [
        line.strip()
        for line in (REPO_ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*", "deny by default"
    allowed = {p[1:] for p in patterns if p.startswith("!")}
    assert allowed == {"requirements/runtime.txt", "pyproject.toml", "README.md", "src/"}


def test_the_parser_sees_continuations() -> None:
    parsed = parse("ARG B=python:3.11.1-slim-bookworm@sha256:" + "a" * 64 + "\n"
                   "FROM ${B} AS build\nRUN a \\\n  && b\n# note\nFROM ${B}\nUSER 1\n")  # fmt: skip
    assert [s.name for s in parsed.stages] == ["build", None]
    assert parsed.stages[0].all("RUN") == ["a  && b"]
    assert parsed.stages[1].all("USER") == ["1"]


def test_the_wheel_is_built_from_what_the_install_test_builds_it_from(
    dockerfile: Dockerfile,
) -> None:
    copied: set[str] = set()
    for args in dockerfile.stages[0].all("COPY"):
        *sources, _destination = args.split()
        copied.update(source.rstrip("/") for source in sources)
    assert copied - {"requirements/runtime.txt"} == set(IMAGE_SOURCES)
