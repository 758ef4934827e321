"""Exponential backoff with full jitter, for every retry loop of the agent."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delays of `uniform(0, min(cap, base * 2**attempt))` seconds; `reset()` after a success.

    Full jitter spreads the reconnects of many agents after a gateway or API server outage,
    so they do not return in lockstep.
    """

    base: float = 0.5
    cap: float = 30.0
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def next_delay(self) -> float:
        """The delay before the next try; each call widens the window up to the cap."""
        ceiling = min(self.cap, self.base * 2.0 ** min(self.attempt, 32))
        self.attempt += 1
        return self.rng.uniform(0.0, ceiling)

    def reset(self) -> None:
        """Start over from the smallest window."""
        self.attempt = 0
