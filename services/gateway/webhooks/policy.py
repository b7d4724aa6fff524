"""When a failed webhook delivery is tried again, or parked: a pure rule over plain values."""

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

Uniform = Callable[[float, float], float]


@dataclass(frozen=True)
class RetryPolicy:
    first_delay: float
    max_delay: float
    retry_for: timedelta

    def delay(self, attempts: int, uniform: Uniform = random.uniform) -> float:
        """Seconds to wait after the `attempts`-th failure: doubling, capped, jittered into its upper half
        so that endpoints coming back are not hit by every delivery at the same instant."""
        ceiling = min(self.max_delay, self.first_delay * 2.0 ** min(attempts - 1, 1000))
        return uniform(ceiling / 2, ceiling)

    def next_attempt(
        self, attempts: int, first_attempt_at: datetime, now: datetime, uniform: Uniform = random.uniform
    ) -> datetime | None:
        """When to try again after a failure, or None to park: the window since the first attempt
        has passed. The last retry falls on the window's end rather than beyond it."""
        deadline = first_attempt_at + self.retry_for
        if now >= deadline:
            return None
        return min(now + timedelta(seconds=self.delay(attempts, uniform)), deadline)
