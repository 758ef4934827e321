"""Everything kept about one container's usage: histograms, daily peaks and signal counters.

The ingest workers keep one `ContainerUsageState` per container (workload, container name),
fold each batch of samples into it and store it as bytes; the size is fixed, whatever the length
of the history.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from numpy.typing import NDArray

from protocol.snapshot import ContainerUsage, GpuUsage
from protocol.usage_state import (
    SIGNALS,
    UsageStateFormatError,
    UsageStateParts,
    join_usage_state,
    split_usage_state,
)
from recommender.usage.buckets import Quantity
from recommender.usage.histogram import (
    DecayingHistogram,
    HistogramStateError,
    add_samples_grouped,
)
from recommender.usage.peaks import DAY_SECONDS, DailyPeaks
from recommender.usage.peaks import add_samples_grouped as add_peaks_grouped
from recommender.usage.signals import THROTTLED_SAMPLE_FRACTION, ContainerSignals
from recommender.usage.slices import held_slices

MIN_CPU_SAMPLE_WEIGHT = 0.1
"""CPU samples weigh the container's request in cores, but at least this (the VPA's rule)."""


@dataclass(frozen=True, slots=True)
class UsageSettings:
    """How fast history fades."""

    half_life_seconds: float = 14 * DAY_SECONDS
    peak_half_life_seconds: float = DAY_SECONDS
    peak_window_seconds: float = DAY_SECONDS


class ContainerUsageState:
    """Histograms and counters of one container."""

    __slots__ = ("cpu", "gpu_memory", "memory", "memory_peaks", "signals")

    def __init__(
        self,
        settings: UsageSettings | None = None,
        *,
        cpu: DecayingHistogram | None = None,
        memory: DecayingHistogram | None = None,
        memory_peaks: DailyPeaks | None = None,
        gpu_memory: DecayingHistogram | None = None,
        signals: ContainerSignals | None = None,
    ) -> None:
        """An empty state (or one restored from its parts)."""
        s = settings or UsageSettings()
        self.cpu = cpu or DecayingHistogram(Quantity.CPU_CORES, s.half_life_seconds)
        self.memory = memory or DecayingHistogram(Quantity.MEMORY_BYTES, s.half_life_seconds)
        self.memory_peaks = memory_peaks or DailyPeaks(
            s.peak_half_life_seconds, s.peak_window_seconds
        )
        self.gpu_memory = gpu_memory or DecayingHistogram(
            Quantity.GPU_MEMORY_BYTES, s.half_life_seconds
        )
        self.signals = signals or ContainerSignals()

    def fold(
        self,
        seconds: NDArray[np.float64],
        cpu_cores: NDArray[np.float64],
        memory_bytes: NDArray[np.float64],
        throttled_fraction: NDArray[np.float64] | None = None,
        cpu_request_cores: float | None = None,
    ) -> int:
        """Fold samples taken at `seconds` (epoch); returns how many were usable.

        Samples with a missing (NaN) or negative figure are dropped. A zero memory reading is
        kept in the histograms (a request is held while usage reads zero, so that time is
        headroom like any other) but is not evidence: the signal counters, which decide whether
        there is enough history to recommend, count only samples of the container running
        (using some memory). A container never seen running gets no recommendation.
        """
        throttled: NDArray[np.float64] = (
            np.full(seconds.size, np.nan) if throttled_fraction is None else throttled_fraction
        )
        (folded,) = fold_grouped(
            [self],
            [0, seconds.size],
            SampleArrays(seconds, cpu_cores, memory_bytes, throttled),
            [cpu_request_cores],
        )
        return folded

    def fold_usage(
        self, samples: Sequence[ContainerUsage], cpu_request_millis: int | None = None
    ) -> int:
        """Fold the agent's samples of this container."""
        if not samples:
            return 0
        return self.fold(
            np.array([s.timestamp.timestamp() for s in samples], dtype=np.float64),
            np.array([s.cpu_cores for s in samples], dtype=np.float64),
            np.array([s.memory_bytes for s in samples], dtype=np.float64),
            np.array(
                [
                    np.nan if s.cpu_throttled_fraction is None else s.cpu_throttled_fraction
                    for s in samples
                ],
                dtype=np.float64,
            ),
            cpu_request_millis / 1000 if cpu_request_millis else None,
        )

    def fold_gpu_usage(self, samples: Sequence[GpuUsage]) -> int:
        """Fold DCGM samples attributed to this container (GPU memory in use)."""
        return self.fold_gpu(
            np.array([s.timestamp.timestamp() for s in samples], dtype=np.float64),
            np.array([s.memory_used_bytes for s in samples], dtype=np.float64),
        )

    def fold_gpu(self, seconds: NDArray[np.float64], memory_used_bytes: NDArray[np.float64]) -> int:
        """Fold DCGM samples taken at `seconds` (epoch), GPU memory in use; returns how many."""
        if not seconds.size:
            return 0
        self.gpu_memory.add_samples(memory_used_bytes, np.ones(seconds.size), seconds)
        return int(seconds.size)

    def record_oom(self, at: float, memory_bytes: float) -> None:
        """Fold an OOM kill at `at` of a container that had `memory_bytes` (its limit)."""
        before = self.signals
        self.signals = self.signals.with_oom(at, memory_bytes)
        if self.signals is not before:
            self.memory_peaks.record_oom(at, memory_bytes)

    def to_bytes(self) -> bytes:
        """Fixed-size binary form, for a bytea column."""
        return join_usage_state(
            UsageStateParts(
                cpu=self.cpu.to_bytes(),
                memory=self.memory.to_bytes(),
                memory_peaks=self.memory_peaks.to_bytes(),
                gpu_memory=self.gpu_memory.to_bytes(),
                signals=_signals_bytes(self.signals),
            )
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> ContainerUsageState:
        """Restore a state written by `to_bytes`."""
        try:
            parts = split_usage_state(data)
        except UsageStateFormatError as e:
            raise HistogramStateError(str(e)) from e
        return cls(
            cpu=DecayingHistogram.from_bytes(parts.cpu),
            memory=DecayingHistogram.from_bytes(parts.memory),
            memory_peaks=DailyPeaks.from_bytes(parts.memory_peaks),
            gpu_memory=DecayingHistogram.from_bytes(parts.gpu_memory),
            signals=_signals_from_bytes(parts.signals),
        )

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "cpu": self.cpu.to_dict(),
            "memory": self.memory.to_dict(),
            "memory_peaks": self.memory_peaks.to_dict(),
            "gpu_memory": self.gpu_memory.to_dict(),
            "signals": self.signals.to_dict(),
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, object]) -> ContainerUsageState:
        """Restore a state written by `to_dict`."""
        parts = {key: doc.get(key) for key in ("cpu", "memory", "memory_peaks", "gpu_memory")}
        signals = doc.get("signals")
        if not all(isinstance(v, Mapping) for v in parts.values()) or not isinstance(
            signals, Mapping
        ):
            raise HistogramStateError("usage state is missing a part")
        return cls(
            cpu=DecayingHistogram.from_dict(parts["cpu"]),  # type: ignore[arg-type]
            memory=DecayingHistogram.from_dict(parts["memory"]),  # type: ignore[arg-type]
            memory_peaks=DailyPeaks.from_dict(parts["memory_peaks"]),  # type: ignore[arg-type]
            gpu_memory=DecayingHistogram.from_dict(parts["gpu_memory"]),  # type: ignore[arg-type]
            signals=ContainerSignals.from_dict(signals),
        )


@dataclass(frozen=True, slots=True)
class SampleArrays:
    """Container samples as arrays, one entry per sample."""

    seconds: NDArray[np.float64]
    cpu_cores: NDArray[np.float64]
    memory_bytes: NDArray[np.float64]
    throttled_fraction: NDArray[np.float64]
    """NaN where unknown."""


def _segment_sums(flags: NDArray[np.bool_], bounds: Sequence[int]) -> list[int]:
    """How many entries are set between consecutive bounds."""
    running = np.concatenate([[0], np.cumsum(flags, dtype=np.int64)])
    return [int(v) for v in np.diff(running[np.asarray(bounds, dtype=np.int64)]).tolist()]


def fold_grouped(
    states: Sequence[ContainerUsageState],
    bounds: Sequence[int],
    samples: SampleArrays,
    cpu_request_cores: Sequence[float | None],
) -> list[int]:
    """Fold into each state its slice of the samples (`bounds[i]:bounds[i + 1]` for
    `states[i]`, whose CPU request is `cpu_request_cores[i]`); returns how many each could use.

    Each state ends as `ContainerUsageState.fold` of its slice leaves it; the checks, decay
    factors and buckets of all the slices are worked out at once.
    """
    at, cpu, memory = samples.seconds, samples.cpu_cores, samples.memory_bytes
    valid = np.isfinite(memory) & (memory >= 0) & np.isfinite(cpu) & (cpu >= 0)
    kept = np.flatnonzero(valid)
    # Where each state's valid samples start among all the valid ones.
    edges = np.searchsorted(kept, np.asarray(bounds, dtype=np.int64)).tolist()
    counts = [end - start for start, end in pairwise(edges)]
    at, cpu, memory = at[kept], cpu[kept], memory[kept]
    throttled = samples.throttled_fraction[kept]
    weight = [
        max(request or 0.0, MIN_CPU_SAMPLE_WEIGHT) if count else 0.0
        for request, count in zip(cpu_request_cores, counts, strict=True)
    ]
    weights = np.repeat(np.asarray(weight, dtype=np.float64), counts)
    add_samples_grouped([s.cpu for s in states], edges, cpu, weights, at)
    add_samples_grouped([s.memory for s in states], edges, memory, np.ones(memory.size), at)
    running = memory > 0
    known = running & np.isfinite(throttled)
    over = known & (np.nan_to_num(throttled) > THROTTLED_SAMPLE_FRACTION)
    runs, observed, throttled_runs = (
        _segment_sums(running, edges),
        _segment_sums(known, edges),
        _segment_sums(over, edges),
    )
    add_peaks_grouped([s.memory_peaks for s in states], edges, memory, at)
    slices = held_slices(edges)
    if not slices.held:
        return counts
    # The first and last time each state's container was seen running.
    firsts = np.minimum.reduceat(np.where(running, at, np.inf)[slices.whole], slices.offsets)
    lasts = np.maximum.reduceat(np.where(running, at, -np.inf)[slices.whole], slices.offsets)
    for i, first, last in zip(slices.held, firsts.tolist(), lasts.tolist(), strict=True):
        if runs[i]:
            state = states[i]
            state.signals = state.signals.with_samples(
                runs[i], first, last, throttled_runs[i], observed[i]
            )
    return counts


def _optional(value: float | None) -> float:
    return float("nan") if value is None else value


def _signals_bytes(s: ContainerSignals) -> bytes:
    return SIGNALS.pack(
        s.samples,
        _optional(s.first_sample_at),
        _optional(s.last_sample_at),
        s.oom_kills,
        _optional(s.last_oom_at),
        s.last_oom_memory_bytes,
        s.throttle_observed,
        s.throttled,
    )


def _signals_from_bytes(data: bytes) -> ContainerSignals:
    if len(data) != SIGNALS.size:
        raise HistogramStateError("usage state signals are truncated")
    samples, first, last, ooms, last_oom, oom_memory, observed, throttled = SIGNALS.unpack(data)

    def present(value: float) -> float | None:
        return None if math.isnan(value) else value  # NaN marks "never"

    return ContainerSignals(
        samples=samples,
        first_sample_at=present(first),
        last_sample_at=present(last),
        oom_kills=ooms,
        last_oom_at=present(last_oom),
        last_oom_memory_bytes=oom_memory,
        throttle_observed=observed,
        throttled=throttled,
    )
