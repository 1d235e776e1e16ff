"""The backoff table: bounds, growth, cap, jitter and the limit on attempts."""

from __future__ import annotations

import dataclasses
import random

import pytest

from kubernaut_wfe.adapters.retry import (
    MAX_ATTEMPTS_LIMIT,
    Jitter,
    RetryPolicy,
    backoff_delays,
)


class Ceiling(random.Random):
    """Jitter at its top: every delay is its whole base, so the delays are exact."""

    def uniform(self, a: float, b: float) -> float:
        return b


def test_the_base_delays_double_up_to_the_cap() -> None:
    policy = RetryPolicy(initial_delay=0.2, max_delay=1.0, max_attempts=7)
    assert list(backoff_delays(policy, Ceiling())) == [0.2, 0.4, 0.8, 1.0, 1.0, 1.0]


def test_one_attempt_means_no_delay_at_all() -> None:
    assert list(backoff_delays(RetryPolicy(max_attempts=1), random.Random(0))) == []


@pytest.mark.parametrize(
    ("jitter", "low_fraction"),
    [(Jitter.FULL, 0.0), (Jitter.EQUAL, 0.5)],
)
def test_jittered_delays_stay_within_their_base(jitter: Jitter, low_fraction: float) -> None:
    policy = RetryPolicy(initial_delay=0.1, max_delay=5.0, jitter=jitter, max_attempts=40)
    bases = list(backoff_delays(dataclasses.replace(policy, jitter=Jitter.EQUAL), Ceiling()))
    for seed in range(20):
        delays = list(backoff_delays(policy, random.Random(seed)))
        assert len(delays) == 39
        for delay, base in zip(delays, bases, strict=True):
            assert base * low_fraction <= delay <= base


def test_jitter_spreads_clients_apart() -> None:
    policy = RetryPolicy(jitter=Jitter.FULL, max_attempts=5)
    first = list(backoff_delays(policy, random.Random(1)))
    second = list(backoff_delays(policy, random.Random(2)))
    assert first != second


def test_a_huge_number_of_retries_never_overflows_the_cap() -> None:
    policy = RetryPolicy(initial_delay=1.0, max_delay=30.0, multiplier=10.0, max_attempts=100)
    delays = list(backoff_delays(policy, Ceiling()))
    assert max(delays) == 30.0
    assert delays[-1] == 30.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"initial_delay": 0}, "initial_delay"),
        ({"initial_delay": 2.0, "max_delay": 1.0}, "max_delay"),
        ({"multiplier": 0.5}, "multiplier"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_attempts": MAX_ATTEMPTS_LIMIT + 1}, "max_attempts"),
    ],
)
def test_nonsensical_policies_are_rejected(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
