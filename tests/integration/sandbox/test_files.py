"""The sandbox's file handling: manifests, the examples' location, the state directory."""

from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path

import pytest

from kubernaut_wfe_tools.commands import sandbox as command
from kubernaut_wfe_tools.sandbox.manifests import ManifestError, find_examples_dir, load_manifests
from kubernaut_wfe_tools.sandbox.stack import STATE_FILE_NAME, StackError, prepare_state_dir

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_multi_document_files_keep_each_document_and_skip_empty_ones(tmp_path: Path) -> None:
    path = tmp_path / "two.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: a}\n",
        encoding="utf-8",
    )

    manifests = load_manifests(path)

    assert [(m.title, m.index) for m in manifests] == [("Namespace a", 0), ("ConfigMap a/b", 2)]
    assert manifests[1].where == f"{path}#3"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kind: [unclosed\n", "not valid YAML"),
        ("- a list\n", "#1: not a Kubernetes object (no apiVersion)"),
        ("apiVersion: v1\nmetadata: {}\n", "#1: not a Kubernetes object (no kind)"),
    ],
)
def test_a_bad_file_is_named_in_the_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ManifestError, match=re.escape(message)) as raised:
        load_manifests(path)
    assert str(path) in str(raised.value)


def test_examples_are_found_from_a_subdirectory_and_not_outside_a_checkout(
    tmp_path: Path,
) -> None:
    assert find_examples_dir(REPO_ROOT / "src") == REPO_ROOT / "examples"
    assert find_examples_dir(tmp_path, package_file=tmp_path / "x.py") is None


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    command.configure(parser)
    return parser.parse_args(argv)


def test_default_manifests_are_the_examples_without_the_bad_ones() -> None:
    files, note = command.files_to_apply(_args(), REPO_ROOT)

    assert note is None
    assert files == sorted((REPO_ROOT / "examples").glob("*.yaml"))
    assert files


@pytest.mark.parametrize("argv", [("--no-apply",), ("--apply",)])
def test_nothing_is_applied_on_request(argv: tuple[str, ...]) -> None:
    assert command.files_to_apply(_args(*argv), REPO_ROOT) == ([], None)


def test_a_missing_manifest_file_is_an_error_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = command.run(_args("--state-dir", str(tmp_path), "--apply", str(tmp_path / "nope.yaml")))

    assert code == 2
    assert "no such file" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_a_state_dir_in_use_by_a_live_sandbox_is_refused(tmp_path: Path) -> None:
    state = tmp_path / STATE_FILE_NAME
    state.write_text(json.dumps({"pid": os.getppid()}), encoding="utf-8")

    with pytest.raises(StackError, match="another sandbox"):
        prepare_state_dir(tmp_path)


def test_a_stale_state_dir_is_cleaned(tmp_path: Path) -> None:
    (tmp_path / STATE_FILE_NAME).write_text(json.dumps({"pid": 2**22 + 7}), encoding="utf-8")
    (tmp_path / "audit.db").write_text("old", encoding="utf-8")
    (tmp_path / "mine.txt").write_text("kept", encoding="utf-8")

    prepare_state_dir(tmp_path)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]


def test_a_previous_control_plane_directory_is_removed_but_not_a_foreign_one(
    tmp_path: Path,
) -> None:
    ours, foreign = tmp_path / "ours", tmp_path / "foreign"
    (ours / "cluster" / "logs").mkdir(parents=True)
    (ours / "cluster" / "bin").symlink_to(tmp_path, target_is_directory=True)
    (foreign / "cluster").mkdir(parents=True)
    (foreign / "cluster" / "notes.txt").write_text("kept", encoding="utf-8")

    prepare_state_dir(ours)
    prepare_state_dir(foreign)

    assert not (ours / "cluster").exists()
    assert (foreign / "cluster" / "notes.txt").read_text(encoding="utf-8") == "kept"
