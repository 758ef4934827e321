"""What a container's GPU samples say: peak memory, duty-cycle level, burstiness.

Duty cycle is the share of time a kernel was running on the GPU (DCGM `GPU_UTIL`), as a fraction
of one whole GPU; memory is bytes of GPU memory in use. Missing samples (NaN) are ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from protocol.snapshot import GpuUsage

DUTY_QUANTILE = 0.995
"""Duty cycle a budget must cover: all but the busiest 0.5 % of sampled minutes."""
ACTIVE_DUTY = 0.05
"""A minute with at least this duty cycle counts as active."""


@dataclass(frozen=True, slots=True)
class GpuUsageProfile:
    """Summary of one container's GPU samples."""

    samples: int
    memory_peak_bytes: float
    duty_mean: float
    duty_quantile: float
    """Duty cycle at `DUTY_QUANTILE` (or the quantile asked for)."""
    duty_peak: float
    active_share: float
    """Share of samples at or above `ACTIVE_DUTY`."""

    @property
    def bursty(self) -> bool:
        """Mostly idle with short busy spells: active under a third of the time, peaks 3x mean."""
        return self.active_share < 1 / 3 and self.duty_peak >= 3 * max(self.duty_mean, 1e-9)


def profile_usage(
    duty: NDArray[np.float64],
    memory_bytes: NDArray[np.float64],
    quantile: float = DUTY_QUANTILE,
) -> GpuUsageProfile:
    """Summarise aligned duty-cycle (0..1) and memory (bytes) samples."""
    duty_known = duty[~np.isnan(duty)]
    memory_known = memory_bytes[~np.isnan(memory_bytes)]
    if duty_known.size == 0 or memory_known.size == 0:
        raise ValueError("a usage profile needs at least one duty and one memory sample")
    return GpuUsageProfile(
        samples=int(max(duty_known.size, memory_known.size)),
        memory_peak_bytes=float(memory_known.max()),
        duty_mean=float(duty_known.mean()),
        duty_quantile=float(np.quantile(duty_known, quantile)),
        duty_peak=float(duty_known.max()),
        active_share=float(np.mean(duty_known >= ACTIVE_DUTY)),
    )


def profile_samples(
    samples: Sequence[GpuUsage], quantile: float = DUTY_QUANTILE
) -> GpuUsageProfile:
    """Summarise DCGM samples of one container (as the agent reports them)."""
    ordered = sorted(samples, key=lambda sample: sample.timestamp)
    return profile_usage(
        np.array([sample.utilization for sample in ordered], dtype=np.float64),
        np.array([sample.memory_used_bytes for sample in ordered], dtype=np.float64),
        quantile,
    )
