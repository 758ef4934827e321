"""Fold a usage batch into per-container histories, and convert them to and from stored rows."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from recommender.autoscaling.demand_history import (
    DemandHistoryError,
    pack_demands,
    unpack_demands,
)
from recommender.usage.container_history import ContainerHistory, ContainerHistoryError
from recommender.usage.key import ContainerKey
from recommender.usage.state import UsageSettings
from store.repositories.usage_states import ContainerKey as StoredKey
from store.repositories.usage_states import UsageStateRecord
from workers.ingest.usage_batch import UsageBatch


def fold_batch(
    batch: UsageBatch,
    histories: Mapping[ContainerKey, ContainerHistory],
    settings: UsageSettings | None = None,
) -> dict[ContainerKey, ContainerHistory]:
    """Fold `batch` into `histories` (new ones start empty); returns only those it changed."""
    changed: dict[ContainerKey, ContainerHistory] = {}
    for key in sorted(batch.keys):
        history = histories.get(key) or ContainerHistory.empty(settings)
        state = history.usage
        folded = 0
        columns = batch.columns.get(key)
        if columns is not None and len(columns):
            millis = batch.cpu_request_millis.get(key)
            folded = state.fold(
                columns.seconds,
                columns.cpu_cores,
                columns.memory_bytes,
                columns.throttled_fraction,
                millis / 1000 if millis else None,
            )
            history.demand.fold(
                zip(columns.seconds.tolist(), columns.pods, columns.cpu_cores.tolist(), strict=True)
            )
        gpu = batch.gpu.get(key)
        if gpu is not None and len(gpu):
            folded += state.fold_gpu(gpu.seconds, gpu.memory_used_bytes)
            history.gpu.fold_columns(gpu.seconds, gpu.duty, gpu.memory_used_bytes)
            history.gpu_demand.fold(
                zip(gpu.seconds.tolist(), gpu.devices, gpu.duty.tolist(), strict=True)
            )
        ooms_before = state.signals.oom_kills
        for kill in batch.oom_kills.get(key, []):
            state.record_oom(kill.at, kill.memory_bytes)
        if folded or state.signals.oom_kills != ooms_before:
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


def to_record(
    key: ContainerKey, history: ContainerHistory, observed_at: datetime
) -> UsageStateRecord:
    """The row storing `history`; `observed_at` stands in for sample times it lacks."""
    signals = history.usage.signals
    first = signals.first_sample_at if signals.first_sample_at is not None else signals.last_oom_at
    last = signals.last_sample_at if signals.last_sample_at is not None else signals.last_oom_at
    return UsageStateRecord(
        stored_key(key),
        history.to_bytes(),
        signals.samples,
        _at(first, observed_at),
        _at(last, observed_at),
        pack_demands(history.demand, history.gpu_demand),
    )


def from_record(record: UsageStateRecord) -> ContainerHistory:
    """The history a row stores (ContainerHistoryError if unreadable).

    Rows written before demand was kept have no demand column value: empty histories; rows
    written before GPU demand was kept hold the CPU demand only.
    """
    history = ContainerHistory.from_bytes(record.state)
    if record.demand is not None:
        try:
            history.demand, history.gpu_demand = unpack_demands(record.demand)
        except DemandHistoryError as e:
            raise ContainerHistoryError(str(e)) from e
    return history
