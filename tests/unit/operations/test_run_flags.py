"""The operational flags of `kubernaut-wfe run` set their config keys; bad values exit 2 naming
the key."""

from __future__ import annotations

import argparse

import pytest

from kubernaut_wfe.commands import run
from kubernaut_wfe.core.config import load_config


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    run.configure(parser)
    return parser.parse_args(list(argv))


def test_without_the_flags_the_configuration_keeps_its_timings() -> None:
    file = "controller: {leader_election_lease_duration: 30s, watch_timeout: 1m}\n"
    controller = load_config(file, run.overrides(parse())).controller
    assert controller.leader_election_lease_duration.total_seconds() == 30
    assert controller.watch_timeout.total_seconds() == 60
    assert controller.leader_election_namespace is None


def test_the_flags_set_their_config_keys() -> None:
    args = parse(
        "--leader-election-namespace", "leases",
        "--leader-elect-lease-duration", "40s",
        "--leader-elect-renew-deadline", "30s",
        "--leader-elect-retry-period", "1500ms",
        "--watch-timeout", "2s",
    )  # fmt: skip
    file = "controller: {leader_election_lease_duration: 5s, watch_timeout: 1m}\n"
    controller = load_config(file, run.overrides(args)).controller
    assert controller.leader_election_namespace == "leases"
    assert controller.leader_election_lease_duration.total_seconds() == 40
    assert controller.leader_election_renew_deadline.total_seconds() == 30
    assert controller.leader_election_retry_period.total_seconds() == 1.5
    assert controller.watch_timeout.total_seconds() == 2


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--leader-elect-lease-duration", "soon"], "controller.leader_election_lease_duration"),
        (
            ["--leader-elect-retry-period", "0s"],
            "controller.leader_election_retry_period: must be greater",
        ),
        (["--watch-timeout", "5"], "controller.watch_timeout"),
    ],
)
def test_bad_timings_exit_2_naming_the_key(
    capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    assert run.run(parse(*flags)) == run.EXIT_CONFIG
    assert message in capsys.readouterr().err
