"""`kubernaut-wfe sandbox`'s `--api` option: parsed, defaulted, refused when unknown."""

from __future__ import annotations

import argparse

import pytest

from kubernaut_wfe_tools.commands import sandbox as command


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kubernaut-wfe sandbox")
    command.configure(parser)
    return parser


def test_the_api_is_the_emulator_unless_asked() -> None:
    assert _parser().parse_args([]).api == "emulator"
    assert _parser().parse_args(["--api", "cluster"]).api == "cluster"


def test_an_unknown_api_is_a_usage_error_naming_the_choices(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        _parser().parse_args(["--api", "kind"])

    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert "argument --api: invalid choice: 'kind'" in err
    assert "emulator" in err.rsplit("choose from", 1)[1]
    assert "cluster" in err.rsplit("choose from", 1)[1]


def test_the_emulator_needs_no_binaries() -> None:
    assert command.cluster_binaries(_parser().parse_args([])) == (None, None)


def test_an_api_port_is_refused_on_the_real_server_before_looking_for_binaries() -> None:
    args = _parser().parse_args(["--api", "cluster", "--api-port", "6443"])

    binaries, problem = command.cluster_binaries(args)

    assert binaries is None
    assert problem == ("--api-port applies to --api emulator only (the real server picks its port)")
