"""Bounded exponential backoff with jitter, for retrying transient API failures."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

MAX_ATTEMPTS_LIMIT = 100
"""No policy may try more often than this: a retry loop must always end."""


class Jitter(StrEnum):
    """How a backoff delay is randomised, so that many clients do not retry in lockstep."""

    FULL = "full"
    """Uniform in [0, base]: the best spread, but a delay may be close to zero."""
    EQUAL = "equal"
    """Uniform in [base/2, base]: spread, and never less than half the base."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a transient failure is retried."""

    initial_delay: float = 0.2
    """Base delay (seconds) before the second attempt."""
    max_delay: float = 30.0
    """Cap of every delay (seconds), Retry-After included."""
    multiplier: float = 2.0
    """Growth of the base delay from one retry to the next."""
    jitter: Jitter = Jitter.EQUAL
    """Randomisation of each delay."""
    max_attempts: int = 6
    """Attempts in total (the first one included); 1 means no retry at all."""

    def __post_init__(self) -> None:
        if not self.initial_delay > 0:
            raise ValueError(f"initial_delay must be > 0, got {self.initial_delay!r}")
        if not self.max_delay >= self.initial_delay:
            raise ValueError(
                f"max_delay ({self.max_delay!r}) must be >= initial_delay ({self.initial_delay!r})"
            )
        if not self.multiplier >= 1:
            raise ValueError(f"multiplier must be >= 1, got {self.multiplier!r}")
        if not 1 <= self.max_attempts <= MAX_ATTEMPTS_LIMIT:
            raise ValueError(
                f"max_attempts must be in [1, {MAX_ATTEMPTS_LIMIT}], got {self.max_attempts!r}"
            )


def backoff_delays(policy: RetryPolicy, rng: random.Random) -> Iterator[float]:
    """Yield the delay before each retry: `max_attempts - 1` values, each within the cap.

    The base grows from `initial_delay` by `multiplier` up to `max_delay`; jitter then picks the
    actual delay below that base.
    """
    base = policy.initial_delay
    for _ in range(policy.max_attempts - 1):
        if policy.jitter is Jitter.FULL:
            yield rng.uniform(0, base)
        else:
            yield base / 2 + rng.uniform(0, base / 2)
        base = min(policy.max_delay, base * policy.multiplier)
