"""The demand chunks a container's record carries, checked against the rings' own slots."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from recommender.autoscaling.demand_history import CHUNK_STEPS, DemandHistory
from recommender.usage.container_history import ContainerHistory
from recommender.usage.key import ContainerKey
from store.repositories.usage_states import DemandChunk
from workers.ingest.usage_fold import mark_stored, to_record

KEY = ContainerKey("shop", "Deployment", "web0", "app")
AT = datetime(2026, 1, 1, tzinfo=UTC)
T0 = 1_700_000_000.0


def _reference_chunks(history: ContainerHistory) -> tuple[list[DemandChunk], bool]:
    rings = (history.demand, history.gpu_demand)
    whole = not all(ring.stored for ring in rings)
    chunks = []
    for number, ring in enumerate(rings):
        for index in ring.data_chunks() if whole else ring.changed_chunks():
            slots = slice(index * CHUNK_STEPS, (index + 1) * CHUNK_STEPS)
            data = ring.sums[slots].astype("<f4").tobytes() + ring.minutes[slots].tobytes()
            chunks.append(DemandChunk(number, index, data))
    return chunks, whole


def _fold_random(ring: DemandHistory, rng: np.random.Generator, start: float) -> None:
    minutes = np.sort(rng.choice(3 * 24 * 60, size=int(rng.integers(1, 400)), replace=False))
    ring.fold([(start + 60.0 * m, f"pod-{m % 3}", float(rng.uniform(0, 8))) for m in minutes])


def _assert_record_matches(history: ContainerHistory) -> None:
    record = to_record(KEY, history, AT)
    chunks, whole = _reference_chunks(history)
    assert list(record.demand_chunks) == chunks
    assert record.demand_replaced is whole


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(("cpu_later", "gpu_later"), [(True, True), (True, False), (False, True)])
def test_record_chunks_are_the_rings_slots(seed: int, cpu_later: bool, gpu_later: bool) -> None:
    """Whole rings before the first store, then only the chunks folded since, for each ring."""
    rng = np.random.default_rng(seed)
    history = ContainerHistory.empty()
    _assert_record_matches(history)
    _fold_random(history.demand, rng, T0)
    if seed % 2:
        _fold_random(history.gpu_demand, rng, T0)
    _assert_record_matches(history)
    mark_stored(history)
    _assert_record_matches(history)
    assert to_record(KEY, history, AT).demand_chunks == ()
    later = T0 + 3 * 86_400.0
    if cpu_later:
        _fold_random(history.demand, rng, later)
    if gpu_later:
        _fold_random(history.gpu_demand, rng, later)
    _assert_record_matches(history)
    assert {chunk.ring for chunk in to_record(KEY, history, AT).demand_chunks} == (
        {0} if cpu_later else set()
    ) | ({1} if gpu_later else set())
