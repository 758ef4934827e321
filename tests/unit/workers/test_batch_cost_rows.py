"""A batch's cost stretches summed into one row per container-hour (`PendingWrites`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from recommender.cost.cost_columns import CONTAINER_SUMS, ContainerRow, CostColumns
from workers.ingest.pending_writes import _ClusterCosts

_HOURS = (datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 2, 1, tzinfo=UTC))
# Two row objects per container identity (pod, container), told apart by their workload.
_POOL = tuple(
    ContainerRow(
        node="n0",
        namespace="ns",
        pod=f"p{number // 4}",
        container=f"c{number // 2 % 2}",
        workload=f"w{number}",
        labels={"app": f"a{number}"},
        cpu_request_cores=0.0,
        memory_request_gib=0.0,
        gpu_fraction=0.0,
    )
    for number in range(16)
)
_EDIT = st.tuples(
    st.sampled_from(("keep", "replace", "insert", "delete")),
    st.integers(min_value=0, max_value=20),
    st.integers(min_value=0, max_value=len(_POOL) - 1),
)
_STRETCH = st.tuples(st.integers(min_value=0, max_value=1), st.lists(_EDIT, max_size=4))


def _edited(rows: list[ContainerRow], edits: list[tuple[str, int, int]]) -> list[ContainerRow]:
    """`rows` with `edits` applied in turn (positions taken modulo the length)."""
    rows = list(rows)
    for op, position, pick in edits:
        at = position % (len(rows) + 1)
        if op == "replace" and at < len(rows):
            rows[at] = _POOL[pick]
        elif op == "insert":
            rows.insert(at, _POOL[pick])
        elif op == "delete" and at < len(rows):
            del rows[at]
    return rows


def _stretches(
    first: list[int], steps: list[tuple[int, list[tuple[str, int, int]]]], seed: int
) -> list[CostColumns]:
    """Stretches each made by editing the last one of its hour (the first from `first`)."""
    random = np.random.default_rng(seed)
    last: dict[int, list[ContainerRow]] = {}
    stretches = []
    for hour, edits in [(0, []), *steps]:
        rows = _edited(last.get(hour, [_POOL[pick] for pick in first]), edits)
        last[hour] = rows
        sums = {name: random.random(len(rows)) * 1e3 for name in CONTAINER_SUMS}
        stretches.append(CostColumns(_HOURS[hour], rows, sums, [], {}))
    return stretches


def _one_by_one(
    stretches: list[CostColumns],
) -> tuple[list[tuple[datetime, str, str]], list[str], dict[str, list[float]]]:
    """(hour, pod, container) of every row in first-seen order, its latest workload, and its
    figures summed in turn, placing the rows one by one."""
    places: dict[tuple[datetime, str, str, str, str], int] = {}
    latest: list[ContainerRow] = []
    sums: dict[str, list[float]] = {name: [] for name in CONTAINER_SUMS}
    for stretch in stretches:
        for i, row in enumerate(stretch.containers):
            key = (stretch.hour, row.namespace, row.pod, row.container, row.node)
            if key not in places:
                places[key] = len(latest)
                latest.append(row)
                for name in CONTAINER_SUMS:
                    sums[name].append(0.0)
            place = places[key]
            latest[place] = row
            for name in CONTAINER_SUMS:
                sums[name][place] += float(stretch.container_sums[name][i])
    keys = [(hour, pod, container) for hour, _, pod, container, _ in places]
    return keys, [row.workload for row in latest], sums


@given(
    first=st.lists(st.integers(min_value=0, max_value=len(_POOL) - 1), max_size=12),
    steps=st.lists(_STRETCH, max_size=6),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_each_container_hour_is_summed_as_placed_one_by_one(
    first: list[int], steps: list[tuple[int, list[tuple[str, int, int]]]], seed: int
) -> None:
    """Rows kept, moved, replaced, repeated within a stretch or coming back sum, order and
    keep their latest row as placing every row in turn does."""
    stretches = _stretches(first, steps, seed)
    costs = _ClusterCosts()
    costs.add(stretches, _HOURS[0])
    rows = costs.containers()
    keys, workloads, sums = _one_by_one(stretches)
    assert list(zip(rows.hours, rows.pods, rows.containers, strict=True)) == keys
    assert list(rows.workloads) == workloads
    for name in CONTAINER_SUMS:
        assert np.asarray(rows.sums.get(name, []), dtype=np.float64).tobytes() == (
            np.asarray(sums[name], dtype=np.float64).tobytes()
        )


def test_a_row_object_placed_again_after_its_replacement_is_the_latest() -> None:
    """A row that comes back after another row of its container is the one kept."""
    replaced, replacement = _POOL[0], _POOL[1]
    stretches = [
        CostColumns(_HOURS[0], rows, {name: np.ones(1) for name in CONTAINER_SUMS}, [], {})
        for rows in ([replaced], [replacement], [replaced])
    ]
    costs = _ClusterCosts()
    costs.add(stretches, _HOURS[0] + timedelta(minutes=3))
    rows = costs.containers()
    assert list(rows.workloads) == [replaced.workload]
    assert list(rows.sums["seconds"]) == [3.0]
