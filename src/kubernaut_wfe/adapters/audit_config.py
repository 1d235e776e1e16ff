"""Tuning of audit delivery, and its retry backoff."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class AuditDeliveryConfig:
    """Tuning of audit delivery."""

    batch_size: int = 1000
    """Events per POST at most; a full batch is sent without waiting for the interval."""
    flush_interval: float = 1.0
    """Seconds the first buffered event waits for others to join its batch."""
    buffer_size: int = 10_000
    """Events held at most (queued or in flight); beyond it `submit` drops (they stay due)."""
    initial_backoff: float = 0.5
    """Seconds before the first retry of a failed batch."""
    max_backoff: float = 60.0
    """Cap of the retry delay (seconds), Retry-After included."""
    backoff_multiplier: float = 2.0
    """Growth of the retry delay from one failure to the next."""
    max_retries: int = 3
    """Retries of a failed batch in a row before it goes to the back of the queue (it is tried
    again later: no event is dropped), so other batches are not held behind it."""
    max_event_age: timedelta = timedelta(days=7)
    """DataStorage rejects older events; they are rejected here without sending."""
    stop_timeout: float = 10.0
    """Default bound (seconds) of the flush at shutdown."""
    remembered_outcomes: int = 100_000
    """Keys of resolved events kept, so a resync racing the status write is not sent again."""

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= 1000:
            raise ValueError(f"batch_size must be in [1, 1000], got {self.batch_size!r}")
        if self.buffer_size < self.batch_size:
            raise ValueError("buffer_size must be >= batch_size")
        if not 0 < self.initial_backoff <= self.max_backoff:
            raise ValueError("backoff delays must satisfy 0 < initial_backoff <= max_backoff")
        if self.backoff_multiplier < 1:
            raise ValueError("backoff_multiplier must be >= 1")
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")


def backoff_delay(attempt: int, config: AuditDeliveryConfig, rng: Callable[[], float]) -> float:
    """The delay before retry number `attempt` (1-based): exponential, capped, equal jitter.

    The result lies in [base/2, base] with base = min(max, initial * multiplier^(attempt-1)).
    """
    exponent = min(attempt - 1, 64)
    base = min(config.max_backoff, config.initial_backoff * config.backoff_multiplier**exponent)
    return base / 2 + rng() * base / 2
