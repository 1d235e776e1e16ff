"""The budget all WFEs share for reconciles retried after a conflict (409). Each WFE backs off on
its own (`core.actions.conflict_delay`); the budget bounds them together, because many WFEs
meeting conflicts at once (an API that answers 409 to every write for a while, found by
`make chaos`) would otherwise multiply one WFE's rate by their number. A token bucket, as
client-go's work queues have: `rate` retries a second on average, `burst` at once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

RETRY_RATE = 10.0
RETRY_BURST = 10.0


@dataclass
class RetryBudget:
    rate: float = RETRY_RATE
    burst: float = RETRY_BURST
    _tokens: float = field(default=RETRY_BURST, init=False)
    _at: datetime | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self._tokens = self.burst

    def reserve(self, now: datetime) -> timedelta:
        """Take one retry from the budget: how long it must wait for its turn (zero while the
        budget lasts)."""
        if self._at is not None:
            earned = max(0.0, (now - self._at).total_seconds()) * self.rate
            self._tokens = min(self.burst, self._tokens + earned)
        self._at = now
        self._tokens -= 1
        if self._tokens >= 0:
            return timedelta(0)
        return timedelta(seconds=-self._tokens / self.rate)
