"""Usage figures on the grid the stored histograms keep: a step number per figure, rounded up.

The worker folds CPU and memory into exponential histograms (`usage_state.BUCKET_SPECS`: bucket
`i` starts at `first * (ratio**i - 1) / (ratio - 1)`, 5 % wider each) and GPU duty cycle into
1 % bins, so a figure finer than that is not kept. Step `i` stands for bucket boundary `i` in
the compact block's units (millicores, MiB), rounded up; a figure, in those units rounded up as
the compact block rounds it, travels as the first step at or above it (a duty cycle: whole
percent, rounded up). The value read back is never lower than measured and lies in the measured
one's bucket or the next (buckets are at least 10 millicores and 10 MB wide, more than the
rounding adds); a value read back travels again as the same step; and a step is a number
below 500, which repeats far more often than a figure does.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from typing import Final

from protocol.usage_state import BUCKET_SPECS, BucketSpec, QuantityTag

MIB = 1024 * 1024
MAX_CPU_CORES = 4096.0
"""The most cores a sample can report (`ContainerUsage.cpu_cores`)."""
MAX_BYTES = float(2**60)
"""The most bytes a step reaches (the compact block's MiB limit, a zebibyte)."""
_FUZZ = 1e-12
"""Relative float error forgiven when a boundary is read back in whole units."""
_ROUNDING = 1e-6
"""Float error forgiven before rounding cores up (0.57 * 1000 is 570.0000000000001)."""


def _boundary(spec: BucketSpec, step: int) -> float:
    return spec.first_bucket_size * (spec.ratio**step - 1) / (spec.ratio - 1)


def _step(spec: BucketSpec, value: float) -> int:
    if value <= 0:
        return 0
    guess = math.ceil(math.log(value * (spec.ratio - 1) / spec.first_bucket_size + 1, spec.ratio))
    while guess > 0 and _boundary(spec, guess - 1) >= value:
        guess -= 1
    while _boundary(spec, guess) < value:
        guess += 1
    return guess


_CPU = BUCKET_SPECS[QuantityTag.CPU_CORES]
_MEMORY = BUCKET_SPECS[QuantityTag.MEMORY_BYTES]
_GPU_MEMORY = BUCKET_SPECS[QuantityTag.GPU_MEMORY_BYTES]
MAX_CPU_STEP: Final = _step(_CPU, MAX_CPU_CORES)
MAX_MEMORY_STEP: Final = _step(_MEMORY, MAX_BYTES)
MAX_GPU_MEMORY_STEP: Final = _step(_GPU_MEMORY, MAX_BYTES)
MILLICORES_BY_STEP: Final = tuple(
    min(int(MAX_CPU_CORES * 1000), math.ceil(_boundary(_CPU, s) * 1000 * (1 - _FUZZ)))
    for s in range(MAX_CPU_STEP + 1)
)
"""A CPU step read back, in millicores."""
MEBIBYTES_BY_STEP: Final = tuple(
    min(int(MAX_BYTES) // MIB, math.ceil(_boundary(_MEMORY, s) * (1 - _FUZZ) / MIB))
    for s in range(MAX_MEMORY_STEP + 1)
)
"""A memory step read back, in MiB."""
GPU_MEBIBYTES_BY_STEP: Final = tuple(
    min(int(MAX_BYTES) // MIB, math.ceil(_boundary(_GPU_MEMORY, s) * (1 - _FUZZ) / MIB))
    for s in range(MAX_GPU_MEMORY_STEP + 1)
)
"""A GPU memory step read back, in MiB."""


def _millicores(cores: float) -> int:
    return max(0, math.ceil(cores * 1000 - _ROUNDING))


def _mebibytes(size: float) -> int:
    return max(0, -(-int(size) // MIB))


def cpu_step(cores: float) -> int:
    """The first step read back as at least `cores` (in whole millicores, rounded up)."""
    return min(MAX_CPU_STEP, bisect_left(MILLICORES_BY_STEP, _millicores(cores)))


def memory_step(size: int) -> int:
    """The first step read back as at least `size` bytes (in whole MiB, rounded up)."""
    return min(MAX_MEMORY_STEP, bisect_left(MEBIBYTES_BY_STEP, _mebibytes(size)))


def gpu_memory_step(size: int) -> int:
    """The first step read back as at least `size` bytes of GPU memory (whole MiB, rounded up)."""
    return min(MAX_GPU_MEMORY_STEP, bisect_left(GPU_MEBIBYTES_BY_STEP, _mebibytes(size)))


def duty_percent(fraction: float) -> int:
    """A duty cycle (0..1) in whole percent, rounded up (the duty histogram's 1 % bins)."""
    return min(100, max(0, math.ceil(fraction * 100 - 1e-6)))
