"""Demand rings stored as chunks: what a history writes after each fold restores it exactly."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recommender.autoscaling.demand_history import (
    CHUNK_SIZE,
    CHUNK_STEPS,
    CHUNKS,
    STEPS,
    DemandHistory,
    DemandHistoryError,
)

T0 = 1_700_438_400.0
MINUTES_KEPT = STEPS * 5


class ChunkStore:
    """A ring's stored form as the usage-state repository keeps it: newest step and chunks."""

    def __init__(self) -> None:
        self.last_step = -1
        self.chunks: dict[int, bytes] = {}

    def write(self, history: DemandHistory) -> int:
        """Store what the history says changed (all it holds if not stored); returns how many
        chunks were written."""
        if history.stored:
            indexes = history.changed_chunks()
        else:
            self.chunks.clear()
            indexes = history.data_chunks()
        for index in indexes:
            self.chunks[index] = history.chunk(index)
        self.last_step = history.last_step
        history.mark_stored()
        return len(indexes)

    def read(self) -> DemandHistory:
        """The history the stored chunks make."""
        return DemandHistory.from_chunks(self.last_step, self.chunks)


_GAPS = st.one_of(
    st.integers(0, 12),
    st.sampled_from([288 * 5, 3 * 288 * 5, MINUTES_KEPT - 3, MINUTES_KEPT + 7]),
    st.integers(-MINUTES_KEPT - 20, 0),
)
"""Minutes between folded minutes: mostly the next few, sometimes skipping days or a whole
ring (clearing what is skipped), sometimes back in time (into kept or dropped steps)."""


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(_GAPS, st.floats(0, 64, width=32), st.integers(1, 4), st.booleans()),
        min_size=1,
        max_size=60,
    ),
    st.booleans(),
)
def test_a_history_stored_after_its_folds_reads_back_byte_for_byte(
    folds: list[tuple[int, float, int, bool]], from_whole: bool
) -> None:
    """Folding minutes with wraps, skips and late samples, storing the changed chunks now and
    then, leaves chunks that restore the very history (to_bytes) after every store."""
    history = DemandHistory()
    store = ChunkStore()
    minute = 0
    for gap, usage, pods, stored_now in folds:
        minute = max(0, minute + gap)
        history.fold([(T0 + 60 * minute, f"pod-{p}", usage) for p in range(pods)])
        if from_whole:
            # A history read from a whole-ring value (rows written before chunks).
            history = DemandHistory.from_bytes(history.to_bytes())
        if stored_now:
            store.write(history)
            assert store.read().to_bytes() == history.to_bytes()
    store.write(history)
    assert store.read().to_bytes() == history.to_bytes()


def test_a_minute_after_the_first_store_writes_one_chunk() -> None:
    """Once stored, the next minute's fold changes only the chunk of its step."""
    history = DemandHistory()
    history.fold([(T0 + 60 * m, "pod", 1.0) for m in range(3 * 24 * 60)])
    store = ChunkStore()
    assert store.write(history) == 3
    history.fold([(T0 + 60 * 3 * 24 * 60, "pod", 1.0)])
    assert history.changed_chunks() == [(history.last_step % STEPS) // CHUNK_STEPS]


def test_a_fresh_history_writes_only_the_chunks_it_holds_data_in() -> None:
    """A new history's first store writes the chunks its minutes fell into, not all of them."""
    history = DemandHistory()
    history.fold([(T0, "pod", 1.0)])
    assert not history.stored
    assert history.data_chunks() == [(history.last_step % STEPS) // CHUNK_STEPS]


def test_skipping_steps_counts_the_cleared_chunks_as_changed() -> None:
    """Steps skipped over clear the slots they held; their chunks are written as changed."""
    history = DemandHistory()
    history.fold([(T0 + 60 * m, "pod", 1.0) for m in range(0, MINUTES_KEPT, 5)])
    ChunkStore().write(history)
    history.fold([(T0 + 60 * (MINUTES_KEPT + 2 * 24 * 60), "pod", 1.0)])
    assert len(history.changed_chunks()) == 3


def test_missing_chunks_read_as_empty() -> None:
    """A ring with no chunks stored reads as an empty ring at the stored newest step."""
    history = DemandHistory.from_chunks(7, {})
    assert history.to_bytes() == DemandHistory(last_step=7).to_bytes()
    assert history.stored


@pytest.mark.parametrize(("index", "size"), [(CHUNKS, CHUNK_SIZE), (0, CHUNK_SIZE - 1)])
def test_a_chunk_of_the_wrong_place_or_size_is_refused(index: int, size: int) -> None:
    """Chunks out of the ring or of the wrong length are not a demand history."""
    with pytest.raises(DemandHistoryError):
        DemandHistory.from_chunks(0, {index: bytes(size)})
