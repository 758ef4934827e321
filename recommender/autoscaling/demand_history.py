"""A workload container's demand over time in fixed space: what autoscaling advice reads.

Two are kept per container: CPU (cores) and GPU duty (GPUs busy, from the DCGM samples).

Per five-minute step it keeps the sum of the per-minute demand (usage summed over the
workload's pods in that minute) and how many minutes were folded, so the step's demand is their
mean. Fourteen days of steps live in a ring, so the size never grows: 4,032 steps of a float32
sum and a one-byte minute count, about 20 KB.

A ring is stored in chunks of a day's steps, so that a minute's fold rewrites the chunk it
touched and not the whole ring: a history remembers which chunks changed since it was stored.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import cast

import numpy as np
from numpy.typing import NDArray

from protocol.changes import WorkloadRef
from protocol.snapshot import WorkloadKind
from recommender.autoscaling.demand import DemandSeries
from recommender.ordered_groups import first_seen_groups, group_sums
from recommender.usage.key import ContainerKey

STEP_SECONDS = 300
STEPS = 14 * 24 * 3600 // STEP_SECONDS
MINUTE = 60
_HEADER = struct.Struct("<4sBxxxq")
_MAGIC = b"SWDH"
_VERSION = 1
SIZE = _HEADER.size + STEPS * 5
"""Bytes of every serialised history."""
_FULL_MINUTES = int(np.iinfo(np.uint8).max)
"""A step's minute count stops here."""
CHUNK_STEPS = 24 * 3600 // STEP_SECONDS
"""Steps of one stored chunk of a ring (a day's)."""
CHUNKS = STEPS // CHUNK_STEPS
"""Chunks of a ring."""
CHUNK_SIZE = CHUNK_STEPS * 5
"""Bytes of a stored chunk: its steps' float32 sums, then their minute counts."""


class DemandHistoryError(ValueError):
    """Bytes that are not a demand history."""


def _empty_sums() -> NDArray[np.float32]:
    return np.zeros(STEPS, dtype=np.float32)


def _empty_minutes() -> NDArray[np.uint8]:
    return np.zeros(STEPS, dtype=np.uint8)


@dataclass
class DemandHistory:
    """Ring of per-step demand sums; slot `step % STEPS` holds step `step` if it is recent."""

    last_step: int = -1
    """The newest step folded (-1 before any)."""
    sums: NDArray[np.float32] = field(default_factory=_empty_sums)
    minutes: NDArray[np.uint8] = field(default_factory=_empty_minutes)
    _changed: set[int] = field(default_factory=set, init=False, compare=False, repr=False)
    """Chunks changed since the history was last stored (when it was stored in chunks)."""
    _stored: bool = field(default=False, init=False, compare=False, repr=False)
    """Whether the stored chunks are this history's as of its last store (none changed since
    but `_changed`): a history read from chunks or written as them."""

    def fold(self, samples: Iterable[tuple[float, str, float]]) -> int:
        """Fold `(unix seconds, pod, usage)` samples; returns how many minutes were added.

        A pod reported twice in a minute counts once (its mean); samples older than the ring
        are dropped.
        """
        found = list(samples)
        known: dict[str, int] = {}
        (added,) = fold_grouped(
            [self],
            [0, len(found)],
            np.array([at for at, _, _ in found], dtype=np.float64),
            np.array([known.setdefault(pod, len(known)) for _, pod, _ in found], dtype=np.int64),
            np.array([usage for _, _, usage in found], dtype=np.float64),
        )
        return added

    def _fold_steps(self, steps: Sequence[int], demands: Sequence[float]) -> int:
        """Add each minute's demand, given as its step (ascending) and its demand (a float32
        value); returns how many were added."""
        # Slots read and written as Python numbers, which is quicker than numpy scalars: two
        # float32 values added as doubles and stored as float32 give numpy's float32 sum (a
        # double has more than twice a float32's precision, so rounding twice is harmless).
        sums, counts = cast("memoryview[float]", self.sums.data), self.minutes.data
        changed = self._changed
        added = 0
        last = self.last_step
        for step, demand in zip(steps, demands, strict=True):
            if step > last:
                slot = step % STEPS
                if step != last + 1:
                    self._advance(step)
                elif counts[slot] or sums[slot] != 0.0 or math.copysign(1.0, sums[slot]) < 0:
                    # The next step: its slot cleared, noted if it held anything.
                    changed.add(slot // CHUNK_STEPS)
                    sums[slot] = 0.0
                    counts[slot] = 0
                last = self.last_step = step
            elif step <= last - STEPS:
                continue
            slot = step % STEPS
            if counts[slot] < _FULL_MINUTES:
                sums[slot] += demand
                counts[slot] += 1
                added += 1
                changed.add(slot // CHUNK_STEPS)
        return added

    def _advance(self, step: int) -> None:
        """Make `step` the newest, clearing the slots of the steps it skips over."""
        first_new = max(self.last_step + 1, step - STEPS + 1)
        start, count = first_new % STEPS, step + 1 - first_new
        # At most STEPS slots from `start` on, wrapping round the ring's end once.
        for begin, end in ((start, min(start + count, STEPS)), (0, max(start + count - STEPS, 0))):
            self._note_cleared(begin, end)
            self.sums[begin:end] = 0.0
            self.minutes[begin:end] = 0
        self.last_step = step

    def _note_cleared(self, begin: int, end: int) -> None:
        """Count as changed the chunks of slots `begin:end` that hold something (about to be
        cleared)."""
        if end <= begin:
            return
        for chunk in range(begin // CHUNK_STEPS, (end - 1) // CHUNK_STEPS + 1):
            low, high = max(begin, chunk * CHUNK_STEPS), min(end, (chunk + 1) * CHUNK_STEPS)
            if self.minutes[low:high].any() or self.sums[low:high].view(np.uint32).any():
                self._changed.add(chunk)

    def series(self) -> DemandSeries:
        """The stored steps in time order (gaps are NaN), from the oldest kept to the newest."""
        if self.last_step < 0:
            return DemandSeries(0.0, float(STEP_SECONDS), np.zeros(0))
        steps = np.arange(max(0, self.last_step - STEPS + 1), self.last_step + 1)
        slots = steps % STEPS
        counts = self.minutes[slots].astype(np.float64)
        sums = self.sums[slots].astype(np.float64)
        values = np.divide(sums, counts, out=np.full(steps.size, np.nan), where=counts > 0)
        present = np.flatnonzero(counts > 0)
        if present.size == 0:
            return DemandSeries(0.0, float(STEP_SECONDS), np.zeros(0))
        # Leading steps before the first sample are not history, just an empty ring.
        first = int(present[0])
        return DemandSeries(float(steps[first] * STEP_SECONDS), float(STEP_SECONDS), values[first:])

    @property
    def stored(self) -> bool:
        """Whether the stored chunks are this history's but for `changed_chunks`."""
        return self._stored

    def changed_chunks(self) -> list[int]:
        """The chunks changed since the history was last stored, ascending."""
        return sorted(self._changed)

    def data_chunks(self) -> list[int]:
        """The chunks holding anything (the others are all zeros), ascending."""
        sums = self.sums.view(np.uint32).reshape(CHUNKS, CHUNK_STEPS).any(axis=1)
        minutes = self.minutes.reshape(CHUNKS, CHUNK_STEPS).any(axis=1)
        return [int(chunk) for chunk in np.flatnonzero(sums | minutes)]

    def chunk(self, index: int) -> bytes:
        """Chunk `index`: its slots' sums (little-endian float32), then their minute counts."""
        slots = slice(index * CHUNK_STEPS, (index + 1) * CHUNK_STEPS)
        sums = self.sums[slots].astype("<f4", copy=False)
        return sums.tobytes() + self.minutes[slots].tobytes()

    def mark_stored(self) -> None:
        """Note that the stored chunks are now this history's (it was just written)."""
        self._changed.clear()
        self._stored = True

    @classmethod
    def from_chunks(cls, last_step: int, chunks: Mapping[int, bytes]) -> DemandHistory:
        """Restore a history from its newest step and its stored chunks (missing ones empty)."""
        history = cls(last_step=last_step)
        for index, data in chunks.items():
            if not 0 <= index < CHUNKS or len(data) != CHUNK_SIZE:
                raise DemandHistoryError("not a chunk of a demand history")
            slots = slice(index * CHUNK_STEPS, (index + 1) * CHUNK_STEPS)
            history.sums[slots] = np.frombuffer(data, dtype="<f4", count=CHUNK_STEPS)
            history.minutes[slots] = np.frombuffer(data, dtype=np.uint8, offset=CHUNK_STEPS * 4)
        history._stored = True
        return history

    def to_bytes(self) -> bytes:
        """Fixed-size binary form."""
        header = _HEADER.pack(_MAGIC, _VERSION, self.last_step)
        return header + self.sums.astype("<f4").tobytes() + self.minutes.tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> DemandHistory:
        """Restore a history written by `to_bytes`."""
        if len(data) != SIZE:
            raise DemandHistoryError("demand history has the wrong size")
        magic, version, last_step = _HEADER.unpack_from(data)
        if magic != _MAGIC or version != _VERSION:
            raise DemandHistoryError("not a demand history of a known version")
        start = _HEADER.size
        sums = np.frombuffer(data, dtype="<f4", count=STEPS, offset=start).astype(np.float32)
        minutes = np.frombuffer(data, dtype=np.uint8, count=STEPS, offset=start + STEPS * 4)
        return cls(last_step=last_step, sums=sums, minutes=minutes.copy())


def fold_grouped(
    histories: Sequence[DemandHistory],
    bounds: Sequence[int],
    seconds: NDArray[np.float64],
    pods: NDArray[np.int64],
    usage: NDArray[np.float64],
) -> list[int]:
    """Fold into each history its slice of the `(unix seconds, pod, usage)` samples
    (`bounds[i]:bounds[i + 1]` for `histories[i]`, each sample's pod as a number: the same for
    samples of one pod, different for other pods of its history); returns how many minutes each
    added.

    Each history ends as `DemandHistory.fold` of its slice leaves it: a minute's demand is each
    pod's mean that minute summed over the pods, the sums taken in the samples' order (pods in
    the order they first come), worked out for all the slices at once.
    """
    total = bounds[-1] - bounds[0]
    if total <= 0:
        return [0] * len(histories)
    whole = slice(bounds[0], bounds[-1])
    seconds, usage = seconds[whole], usage[whole]
    pod = pods[whole] - int(pods[whole].min())
    counts = [end - start for start, end in pairwise(bounds)]
    owner = np.repeat(np.arange(len(histories), dtype=np.int64), counts)
    minute = np.floor(seconds / MINUTE).astype(np.int64)
    offset = int(minute.min())
    minute -= offset
    span = int(minute.max()) + 1
    found, demands = _minute_demands(
        owner * span + minute, owner, pod, usage, len(histories) * span
    )
    steps = ((found % span + offset) * MINUTE // STEP_SECONDS).tolist()
    values = np.asarray(demands, dtype=np.float64).astype(np.float32).tolist()
    # Where each history's minutes start among them (they come history by history).
    edges = np.searchsorted(found // span, np.arange(len(histories) + 1)).tolist()
    added = [0] * len(histories)
    for i, (start, end) in enumerate(pairwise(edges)):
        if end > start:
            added[i] = histories[i]._fold_steps(steps[start:end], values[start:end])
    return added


def _minute_demands(
    minutes: NDArray[np.int64],
    owner: NDArray[np.int64],
    pod: NDArray[np.int64],
    usage: NDArray[np.float64],
    codes: int,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """The (history, minute) codes present (`minutes`: each sample's, below `codes`),
    ascending, and each one's demand: the means of its pods' samples in that minute, added in
    the order the pods first come."""
    if _one_sample_per_pod_minute(owner, pod, minutes):
        # Each pod's mean of a minute is its one sample, plus the 0.0 a sum starts from.
        present = np.bincount(minutes, minlength=codes)
        sums = np.bincount(minutes, weights=usage + 0.0, minlength=codes).astype(
            np.float64, copy=False
        )
        found = np.flatnonzero(present).astype(np.int64)
        return found, sums[found]
    known = int(pod.max()) + 1
    groups, first = first_seen_groups(minutes * known + pod)
    means = group_sums(groups, usage, first.size) / np.bincount(groups, minlength=first.size)
    found, minute_of = np.unique(minutes[first], return_inverse=True)
    return found, group_sums(minute_of.reshape(-1), means, found.size)


def _one_sample_per_pod_minute(
    owner: NDArray[np.int64], pod: NDArray[np.int64], minutes: NDArray[np.int64]
) -> bool:
    """Whether no two samples share their history, pod and minute, as when each pod's samples
    follow one another (pods ascending within a history) and their minutes run one way."""
    if owner.size < 2:
        return True
    pair = owner * (int(pod.max()) + 1) + pod
    if not (pair[1:] >= pair[:-1]).all():
        return False
    same_pod = pair[1:] == pair[:-1]
    step = np.diff(minutes)[same_pod]
    return bool((step > 0).all() or (step < 0).all())


def pack_demands(cpu: DemandHistory, gpu: DemandHistory) -> bytes:
    """CPU and GPU-duty demand histories as one stored value (the GPU part only if it has data)."""
    return cpu.to_bytes() + (gpu.to_bytes() if gpu.last_step >= 0 else b"")


def unpack_demands(data: bytes) -> tuple[DemandHistory, DemandHistory]:
    """The CPU and GPU-duty histories of `pack_demands` (a CPU-only value has an empty GPU one)."""
    if len(data) == SIZE:
        return DemandHistory.from_bytes(data), DemandHistory()
    if len(data) != 2 * SIZE:
        raise DemandHistoryError("stored demand has the wrong size")
    return DemandHistory.from_bytes(data[:SIZE]), DemandHistory.from_bytes(data[SIZE:])


def workload_demand(histories: Iterable[DemandHistory]) -> DemandSeries:
    """A workload's demand: the sum of its containers' demand series, aligned by step."""
    parts = [h.series() for h in histories]
    parts = [p for p in parts if p.values.size]
    if not parts:
        return DemandSeries(0.0, float(STEP_SECONDS), np.zeros(0))
    start = min(p.start for p in parts)
    end = max(p.end for p in parts)
    n = round((end - start) / STEP_SECONDS)
    total = np.zeros(n)
    seen = np.zeros(n, dtype=bool)
    for part in parts:
        offset = round((part.start - start) / STEP_SECONDS)
        present = ~np.isnan(part.values)
        window = slice(offset, offset + part.values.size)
        total[window] += np.nan_to_num(part.values)
        seen[window] |= present
    return DemandSeries(start, float(STEP_SECONDS), np.where(seen, total, np.nan))


def workload_demands(
    histories: Mapping[ContainerKey, DemandHistory],
) -> dict[WorkloadRef, DemandSeries]:
    """Each workload's demand from its containers' histories (kinds we cannot scale skipped)."""
    grouped: dict[WorkloadRef, list[DemandHistory]] = {}
    scalable = {kind.value for kind in WorkloadKind}
    for key, history in histories.items():
        if key.kind not in scalable:
            continue
        ref = WorkloadRef(kind=WorkloadKind(key.kind), namespace=key.namespace, name=key.workload)
        grouped.setdefault(ref, []).append(history)
    demands = {ref: workload_demand(parts) for ref, parts in grouped.items()}
    return {ref: series for ref, series in demands.items() if series.values.size}
