"""The operational flags of `kubernaut-wfe run`: defaults, and bad values exit 2 naming the flag."""

from __future__ import annotations

import argparse

import pytest

from kubernaut_wfe.commands import run


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    run.configure(parser)
    return parser.parse_args(list(argv))


def test_defaults_are_client_go_timings() -> None:
    args = parse()
    assert (
        args.leader_elect_lease_duration,
        args.leader_elect_renew_deadline,
        args.leader_elect_retry_period,
        args.watch_timeout,
        args.leader_election_namespace,
    ) == ("15s", "10s", "2s", "5m", None)


def test_the_flags_are_not_config_overrides() -> None:
    overrides = run.overrides(parse("--watch-timeout", "2s", "--leader-elect-retry-period", "1s"))
    assert set(overrides.values()) == {None}


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--leader-elect-lease-duration", "soon"], "--leader-elect-lease-duration"),
        (["--leader-elect-retry-period", "0s"], "--leader-elect-retry-period: must be greater"),
        (["--watch-timeout", "5"], "--watch-timeout"),
    ],
)
def test_bad_timings_exit_2_naming_the_flag(
    capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    assert run.run(parse(*flags)) == run.EXIT_CONFIG
    assert message in capsys.readouterr().err
