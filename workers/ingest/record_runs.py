"""A polled batch cut into the runs of records that one transaction each folds, by their bytes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from workers.decode import Record

R = TypeVar("R", bound=Record)

DEFAULT_RUN_BYTES = 48 * 2**20
"""Values of at most this many bytes decoded and folded at once: about twenty full snapshots of
1,000 pods with their samples (2.5 MB of JSON each), or six hundred deltas (80 kB each)."""


def byte_runs(records: Sequence[R], limit: int) -> list[Sequence[R]]:
    """`records` in order, cut into consecutive runs whose values add up to at most `limit`
    bytes; a record larger than `limit` is a run of its own."""
    runs: list[Sequence[R]] = []
    start, held = 0, 0
    for index, record in enumerate(records):
        size = len(record.value or b"")
        if index > start and held + size > limit:
            runs.append(records[start:index])
            start, held = index, 0
        held += size
    if start < len(records):
        runs.append(records[start:])
    return runs
