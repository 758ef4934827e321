"""Fold a usage batch into per-container histories, and convert them to and from stored rows."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import numpy as np

from recommender.autoscaling.demand_history import (
    DemandHistory,
    DemandHistoryError,
    unpack_demands,
)
from recommender.autoscaling.demand_history import fold_grouped as fold_demands
from recommender.usage.container_history import ContainerHistory, ContainerHistoryError
from recommender.usage.gpu_duty import fold_grouped as fold_gpu_duty
from recommender.usage.histogram import add_samples_grouped
from recommender.usage.key import ContainerKey
from recommender.usage.state import SampleArrays, UsageSettings, fold_grouped
from store.repositories.usage_states import ContainerKey as StoredKey
from store.repositories.usage_states import DemandChunk, UsageStateRecord
from workers.ingest.usage_batch import UsageBatch


def _sampled(keys: list[ContainerKey], bounds: list[int]) -> tuple[list[ContainerKey], list[int]]:
    """The keys with samples, and where each one's start and the last one's end."""
    kept = [i for i in range(len(keys)) if bounds[i + 1] > bounds[i]]
    return [keys[i] for i in kept], [0, *(bounds[i + 1] for i in kept)]


def fold_batch(
    batch: UsageBatch,
    histories: Mapping[ContainerKey, ContainerHistory],
    settings: UsageSettings | None = None,
) -> dict[ContainerKey, ContainerHistory]:
    """Fold `batch` into `histories` (new ones start empty); returns only those it changed.

    The usage histograms and demand histories of all the batch's containers are folded together
    (one pass over all samples), each container's as if folded alone.
    """
    keys = sorted(batch.keys)
    folding = {key: histories.get(key) or ContainerHistory.empty(settings) for key in keys}
    folded = dict.fromkeys(keys, 0)
    grouped = batch.grouped
    sampled, bounds = _sampled(grouped.keys, grouped.bounds)
    if sampled:
        counts = fold_grouped(
            [folding[key].usage for key in sampled],
            bounds,
            SampleArrays(
                grouped.seconds,
                grouped.cpu_cores,
                grouped.memory_bytes,
                grouped.throttled_fraction,
            ),
            [
                millis / 1000 if (millis := batch.cpu_request_millis.get(key)) else None
                for key in sampled
            ],
        )
        folded.update(zip(sampled, counts, strict=True))
        fold_demands(
            [folding[key].demand for key in sampled],
            bounds,
            grouped.seconds,
            grouped.pod_codes,
            grouped.cpu_cores,
        )
    gpus = batch.grouped_gpu
    on_gpus, bounds = _sampled(gpus.keys, gpus.bounds)
    if on_gpus:
        add_samples_grouped(
            [folding[key].usage.gpu_memory for key in on_gpus],
            bounds,
            gpus.memory_used_bytes,
            np.ones(gpus.seconds.size),
            gpus.seconds,
        )
        fold_demands(
            [folding[key].gpu_demand for key in on_gpus],
            bounds,
            gpus.seconds,
            gpus.device_codes,
            gpus.duty,
        )
        counts = fold_gpu_duty(
            [folding[key].gpu for key in on_gpus],
            bounds,
            gpus.seconds,
            gpus.duty,
            gpus.memory_used_bytes,
        )
        for key, count in zip(on_gpus, counts, strict=True):
            folded[key] += count
    changed: dict[ContainerKey, ContainerHistory] = {}
    for key in keys:
        history = folding[key]
        state = history.usage
        ooms_before = state.signals.oom_kills
        for kill in batch.oom_kills.get(key, []):
            state.record_oom(kill.at, kill.memory_bytes)
        if folded[key] or state.signals.oom_kills != ooms_before:
            changed[key] = history
    return changed


def stored_key(key: ContainerKey) -> StoredKey:
    """The storage key of a container."""
    return StoredKey(key.namespace, key.kind, key.workload, key.container)


def domain_key(key: StoredKey) -> ContainerKey:
    """The recommender's key of a stored container."""
    return ContainerKey(key.namespace, key.workload_kind, key.workload_name, key.container)


def _at(seconds: float | None, fallback: datetime) -> datetime:
    return fallback if seconds is None else datetime.fromtimestamp(seconds, tz=UTC)


def _rings(history: ContainerHistory) -> tuple[DemandHistory, DemandHistory]:
    """The history's demand rings in their stored order (ring 0: CPU, ring 1: GPU duty)."""
    return history.demand, history.gpu_demand


def _demand_chunks(history: ContainerHistory) -> tuple[list[DemandChunk], bool]:
    """The demand chunks to store for `history`, and whether they replace all stored ones:
    the changed chunks when both rings are stored as chunks, else every chunk holding
    anything."""
    cpu, gpu = _rings(history)
    whole = not (cpu.stored and gpu.stored)
    if whole:
        cpu_indexes, gpu_indexes = cpu.data_chunks(), gpu.data_chunks()
    else:
        cpu_indexes, gpu_indexes = cpu.changed_chunks(), gpu.changed_chunks()
    chunks = [DemandChunk(0, index, cpu.chunk(index)) for index in cpu_indexes]
    if gpu_indexes:
        chunks += [DemandChunk(1, index, gpu.chunk(index)) for index in gpu_indexes]
    return chunks, whole


def mark_stored(history: ContainerHistory) -> None:
    """Note that `history`'s record (`to_record`) was just written."""
    for ring in _rings(history):
        ring.mark_stored()


def to_record(
    key: ContainerKey, history: ContainerHistory, observed_at: datetime
) -> UsageStateRecord:
    """The row storing `history`; `observed_at` stands in for sample times it lacks.

    Its demand is the chunks changed since the history was last stored (`mark_stored`), or all
    of them where the stored ones are not known to be the history's.
    """
    signals = history.usage.signals
    first = signals.first_sample_at if signals.first_sample_at is not None else signals.last_oom_at
    last = signals.last_sample_at if signals.last_sample_at is not None else signals.last_oom_at
    chunks, replaced = _demand_chunks(history)
    return UsageStateRecord(
        stored_key(key),
        history.to_bytes(),
        signals.samples,
        _at(first, observed_at),
        _at(last, observed_at),
        demand_steps=(history.demand.last_step, history.gpu_demand.last_step),
        demand_chunks=tuple(chunks),
        demand_replaced=replaced,
    )


def from_record(record: UsageStateRecord) -> ContainerHistory:
    """The history a row stores (ContainerHistoryError if unreadable).

    The demand rings are assembled from their chunks, but in rows written before they were
    chunked: those hold them whole (the CPU ring only if written before GPU demand was kept),
    or nothing if written before demand was kept (empty histories, as no chunks are).
    """
    history = ContainerHistory.from_bytes(record.state)
    try:
        if record.demand is not None:
            history.demand, history.gpu_demand = unpack_demands(record.demand)
        else:
            history.demand, history.gpu_demand = (
                DemandHistory.from_chunks(
                    record.demand_steps[number],
                    {c.index: c.data for c in record.demand_chunks if c.ring == number},
                )
                for number in range(2)
            )
    except DemandHistoryError as e:
        raise ContainerHistoryError(str(e)) from e
    return history
