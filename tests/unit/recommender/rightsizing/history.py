"""Usage states with known history for rightsizing tests."""

from __future__ import annotations

import numpy as np

from recommender.usage.state import ContainerUsageState

T0 = 1_748_000_000.0
DAY = 86_400.0


def steady(days: float, cpu: float = 0.5, memory: float = 2**30) -> ContainerUsageState:
    """Five-minute samples of constant usage over `days`."""
    seconds = T0 + np.arange(0.0, days * DAY, 300.0)
    state = ContainerUsageState()
    state.fold(seconds, np.full(seconds.size, cpu), np.full(seconds.size, memory))
    return state


def end_of_history(days: float) -> float:
    """The moment just after the last sample of `steady(days)`."""
    return T0 + days * DAY
