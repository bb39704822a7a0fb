"""The one backoff policy: exponential, capped, jittered, honouring Retry-After within bounds."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    base: float  # seconds before the first retry (before jitter)
    cap: float = 3600.0  # no retry is scheduled further out than this
    retry_after_max: float = 3600.0  # a receiver's Retry-After is honoured up to this

    def delay(self, attempt: int, retry_after: float | None = None,
              rand: Callable[[], float] = random.random) -> float:
        """Seconds before retry number ``attempt`` (1-based): base*2^(attempt-1), capped, keeping
        50-100% of it (jitter), so many jobs failing together do not all come back in the same
        second while none retries much sooner than planned. A ``retry_after`` from the other side
        wins when later, up to ``retry_after_max``."""
        if attempt < 1:
            raise ValueError("attempt is 1-based")
        if self.base < 0 or self.cap < 0:
            raise ValueError("delays cannot be negative")
        # Bound the exponent so a runaway attempt counter cannot build an enormous number.
        growth = float(2 ** min(attempt - 1, 64))
        planned = min(self.base * growth, self.cap) * (0.5 + 0.5 * rand())
        if retry_after is not None and retry_after > planned:
            return float(min(retry_after, max(self.retry_after_max, planned)))
        return planned
