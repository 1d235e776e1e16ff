"""What the node stand-in reads of an image from a Dockerfile, and how it names an image."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from kubernaut_wfe_tools.node_simulator.service_pods.images import (
    DEFAULT_PATH,
    ImageError,
    controller_image,
    read_dockerfile,
    repository_of,
)


def test_the_final_stage_run_configuration_is_read() -> None:
    config = read_dockerfile(
        """
        FROM python:3.11-slim
        ENV APP_HOME=/app
        USER 1000:2000
        WORKDIR /app
        ENTRYPOINT ["python", "-m", "app"]
        CMD ["serve", "--port", "8080"]
        """
    )

    assert config.entrypoint == ("python", "-m", "app")
    assert config.cmd == ("serve", "--port", "8080")
    assert (config.user, config.group) == (1000, 2000)
    assert config.working_dir == "/app"
    assert config.env == {"PATH": DEFAULT_PATH, "APP_HOME": "/app"}


def test_a_user_without_a_group_leaves_the_group_to_the_image() -> None:
    config = read_dockerfile("FROM scratch\nUSER 65532\n")

    assert (config.user, config.group) == (65532, None)


def test_nothing_of_an_earlier_stage_reaches_the_final_image() -> None:
    config = read_dockerfile(
        """
        FROM golang:1.22 AS builder
        ENV CGO_ENABLED=0
        USER 1000
        WORKDIR /src
        ENTRYPOINT ["go"]
        CMD ["build"]

        FROM gcr.io/distroless/static
        CMD ["/app"]
        """
    )

    assert config.entrypoint == ()
    assert config.cmd == ("/app",)
    assert config.user is None
    assert config.working_dir == "/"
    assert config.env == {"PATH": DEFAULT_PATH}


def test_continuation_lines_are_joined_across_comments_and_blank_lines() -> None:
    config = read_dockerfile(
        "FROM scratch\n"
        "ENV FIRST=1 \\\n"
        "    # a comment inside the instruction\n"
        "    SECOND=2 \\\n"
        "\n"
        "    THIRD=3\n"
        'ENTRYPOINT ["app", \\\n'
        '            "--verbose"]\n'
    )

    assert config.env == {"PATH": DEFAULT_PATH, "FIRST": "1", "SECOND": "2", "THIRD": "3"}
    assert config.entrypoint == ("app", "--verbose")


def test_instructions_are_case_insensitive_and_comments_ignored() -> None:
    config = read_dockerfile(
        '# syntax=docker/dockerfile:1.7\nfrom scratch\n# CMD ["ignored"]\ncmd ["run"]\n'
    )

    assert config.cmd == ("run",)


def test_env_expands_earlier_variables_in_both_forms() -> None:
    config = read_dockerfile(
        """
        FROM scratch
        ENV BASE=/opt/app
        ENV PATH=$BASE/bin:$PATH DATA=${BASE}/data
        """
    )

    assert config.env["PATH"] == f"/opt/app/bin:{DEFAULT_PATH}"
    assert config.env["DATA"] == "/opt/app/data"


def test_env_references_see_the_values_from_before_the_instruction() -> None:
    # Docker's documented example: `def` gets the old `abc`, `ghi` the new one.
    config = read_dockerfile(
        """
        FROM scratch
        ENV abc=hello
        ENV abc=bye def=$abc
        ENV ghi=$abc
        """
    )

    assert (config.env["abc"], config.env["def"], config.env["ghi"]) == ("bye", "hello", "bye")


def test_an_undefined_variable_expands_to_nothing() -> None:
    # `$PATHX` is its own (undefined) variable, not `$PATH` followed by `X`.
    config = read_dockerfile("FROM scratch\nENV A=[$UNDEFINED] B=[$PATHX] C=[${NOPE}]\n")

    assert (config.env["A"], config.env["B"], config.env["C"]) == ("[]", "[]", "[]")


def test_quoted_env_values_keep_their_spaces() -> None:
    config = read_dockerfile('FROM scratch\nENV GREETING="hello world" EMPTY=\n')

    assert config.env["GREETING"] == "hello world"
    assert config.env["EMPTY"] == ""


@pytest.mark.parametrize(
    ("instruction", "complaint"),
    [
        ("ENTRYPOINT kubernaut-wfe run", "only the JSON form"),
        ('CMD ["run", 1]', "JSON array of strings"),
        ('CMD "run"', "JSON array of strings"),
        ("USER nonroot", "only numeric uid"),
        ("USER 1000:staff", "only numeric uid"),
        ("ENV LEGACY value", "expected KEY=value"),
    ],
)
def test_what_cannot_be_read_is_refused(instruction: str, complaint: str) -> None:
    with pytest.raises(ImageError, match=re.escape(complaint)):
        read_dockerfile(f"FROM scratch\n{instruction}\n")


def test_the_controller_image_is_what_the_project_dockerfile_builds() -> None:
    image = controller_image()

    assert image.entrypoint == ("kubernaut-wfe",)
    assert image.cmd == ("run",)
    assert (image.user, image.group) == (65532, 65532)
    assert image.working_dir == "/tmp"
    assert image.env["PATH"].startswith("/opt/kubernaut-wfe/bin:")
    assert image.env["PATH"].endswith(DEFAULT_PATH)
    assert image.env["HOME"] == "/tmp"
    assert image.env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert "PIP_NO_CACHE_DIR" not in image.env, "a builder-stage variable leaked"
    assert image.binds == ((Path(sys.prefix), "/opt/kubernaut-wfe"),)


@pytest.mark.parametrize(
    ("reference", "repository"),
    [
        ("kubernaut-wfe", "kubernaut-wfe"),
        ("kubernaut-wfe:0.1.0", "kubernaut-wfe"),
        ("registry:5000/team/kubernaut-wfe:1.2", "kubernaut-wfe"),
        ("registry:5000/kubernaut-wfe", "kubernaut-wfe"),
        ("ghcr.io/org/kubernaut-wfe@sha256:" + "a" * 64, "kubernaut-wfe"),
        ("registry:5000/team/kubernaut-wfe:1.2@sha256:" + "b" * 64, "kubernaut-wfe"),
        ("docker.io/library/busybox:latest", "busybox"),
    ],
)
def test_the_repository_is_the_last_path_component_without_tag_or_digest(
    reference: str, repository: str
) -> None:
    assert repository_of(reference) == repository
