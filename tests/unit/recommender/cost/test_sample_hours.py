"""An upload's per-hour sample figures equal those a plain loop over its samples makes, float for
float, for the containers and nodes the reader numbers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray

from recommender.cost.sample_hours import (
    GIB,
    ContainerColumns,
    ContainerRef,
    GpuColumns,
    HourRows,
    KnownIds,
    covered_hours,
    sample_hours,
)

TOP_OF_HOUR = 1_772_409_600.0
"""2026-03-02 00:00 UTC: samples fall on both sides of it."""
REFS: list[ContainerRef] = [("ml", f"pod-{i}", c) for i in range(3) for c in ("main", "side")]
NODES = ["node-a", "node-b", "node-c"]


@dataclass(frozen=True)
class Upload:
    """Generated samples, and which names the reader numbers."""

    containers: ContainerColumns
    gpus: GpuColumns
    refs: dict[ContainerRef, int]
    nodes: dict[str, int]


def _hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def _moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


_OFFSETS = st.one_of(
    st.sampled_from([-120.0, -60.0, -30.0, 0.0, 1.0, 30.0, 60.0]),
    st.floats(-200, 200, allow_nan=False).map(lambda s: round(s, 3)),
)


def _series(draw: st.DrawFn, count: int) -> tuple[list[int], list[float]]:
    """(series of each sample, its epoch seconds): whole seconds only, or some fractions."""
    whole = draw(st.booleans())
    offsets = st.sampled_from([-120.0, -60.0, 0.0, 1.0, 60.0]) if whole else _OFFSETS
    series = draw(st.lists(st.integers(0, count - 1), min_size=0, max_size=60))
    return series, [TOP_OF_HOUR + draw(offsets) for _ in series]


def _named(draw: st.DrawFn, names: Sequence[str | ContainerRef]) -> list[int]:
    """Some of the names (not necessarily all sampled ones), in some order."""
    return draw(st.lists(st.sampled_from(range(len(names))), unique=True, max_size=len(names)))


_FRACTIONS = st.one_of(
    # Sums of these depend on the order they are added in.
    st.sampled_from([0.1, 0.2, 0.3, 1 / 3, 0.7, 0.45]),
    st.floats(0, 1, allow_nan=False),
)


def _floats(draw: st.DrawFn, count: int, high: float) -> NDArray[np.float64]:
    return np.array([draw(_FRACTIONS) * high for _ in range(count)], dtype=np.float64)


@st.composite
def uploads(draw: st.DrawFn) -> Upload:
    """Container and DCGM samples of a few series, and a numbering of some names."""
    refs = draw(st.lists(st.sampled_from(REFS), min_size=1, max_size=6))
    windows = draw(st.lists(st.sampled_from([30, 60, 61]), min_size=len(refs), max_size=len(refs)))
    series, seconds = _series(draw, len(refs))
    containers = ContainerColumns(
        refs=refs,
        window_seconds=np.array(windows, dtype=np.int64),
        series=np.array(series, dtype=np.int64),
        seconds=np.array(seconds, dtype=np.float64),
        cpu_cores=_floats(draw, len(series), 8.0),
        memory_bytes=_floats(draw, len(series), 64.0 * GIB),
        throttled_fraction=np.full(len(series), np.nan),
    )
    gpu_refs = draw(st.lists(st.one_of(st.none(), st.sampled_from(REFS)), min_size=1, max_size=6))
    gpu_nodes = [draw(st.sampled_from(NODES)) for _ in gpu_refs]
    shares = [draw(st.sampled_from([1.0, 0.5, 1 / 7])) for _ in gpu_refs]
    gpu_series, gpu_seconds = _series(draw, len(gpu_refs))
    totals = [draw(st.sampled_from([0.0, 40.0 * GIB, 80.0 * GIB])) for _ in gpu_series]
    gpus = GpuColumns(
        refs=gpu_refs,
        nodes=gpu_nodes,
        shares=np.array(shares, dtype=np.float64),
        series=np.array(gpu_series, dtype=np.int64),
        seconds=np.array(gpu_seconds, dtype=np.float64),
        duty=_floats(draw, len(gpu_series), 1.0),
        memory_used_bytes=_floats(draw, len(gpu_series), 40.0 * GIB),
        memory_total_bytes=np.array(totals, dtype=np.float64),
    )
    numbered_refs = [REFS[i] for i in _named(draw, REFS)]
    numbered_nodes = [NODES[i] for i in _named(draw, NODES)]
    return Upload(
        containers,
        gpus,
        {ref: i for i, ref in enumerate(numbered_refs)},
        {node: i for i, node in enumerate(numbered_nodes)},
    )


_Name = TypeVar("_Name")
Figures = dict[tuple[datetime, _Name], float]


def _loop_usage(
    columns: ContainerColumns,
) -> tuple[Figures[ContainerRef], Figures[ContainerRef]]:
    """Mean CPU and memory GiB per (hour, container), summed sample by sample."""
    sums: dict[tuple[datetime, ContainerRef], list[float]] = {}
    for i in range(len(columns)):
        ref = columns.refs[int(columns.series[i])]
        window = int(columns.window_seconds[int(columns.series[i])])
        hour = _hour(_moment(float(columns.seconds[i])) - timedelta(seconds=window / 2))
        found = sums.setdefault((hour, ref), [0.0, 0.0, 0.0])
        found[0] += float(columns.cpu_cores[i]) * window
        found[1] += float(columns.memory_bytes[i]) / GIB * window
        found[2] += window
    return (
        {key: cpu / total for key, (cpu, _, total) in sums.items()},
        {key: memory / total for key, (_, memory, total) in sums.items()},
    )


def _mean(values: list[float]) -> float:
    total = 0.0
    for value in values:
        total += value
    return total / len(values)


def _loop_gpus(
    columns: GpuColumns,
) -> tuple[Figures[ContainerRef], Figures[ContainerRef], Figures[str]]:
    """Mean GPUs busy and duty per (hour, container), and duty per (hour, node)."""
    node_duty: dict[tuple[datetime, str], list[float]] = {}
    duty: dict[tuple[datetime, ContainerRef], list[float]] = {}
    moments: dict[tuple[datetime, ContainerRef, float], float] = {}
    for i in range(len(columns)):
        series = int(columns.series[i])
        ref, node = columns.refs[series], columns.nodes[series]
        at = float(columns.seconds[i])
        hour = _hour(_moment(at) - timedelta(seconds=1))
        node_duty.setdefault((hour, node), []).append(float(columns.duty[i]))
        if ref is None:
            continue
        duty.setdefault((hour, ref), []).append(float(columns.duty[i]))
        total = float(columns.memory_total_bytes[i])
        memory = float(columns.memory_used_bytes[i]) / total if total > 0 else 0.0
        busy = max(float(columns.duty[i]), memory) * float(columns.shares[series])
        moments[(hour, ref, at)] = moments.get((hour, ref, at), 0.0) + busy
    used: dict[tuple[datetime, ContainerRef], list[float]] = {}
    for (hour, ref, _), busy in moments.items():
        used.setdefault((hour, ref), []).append(busy)
    return (
        {key: _mean(values) for key, values in used.items()},
        {key: _mean(values) for key, values in duty.items()},
        {key: _mean(values) for key, values in node_duty.items()},
    )


def _assert_rows(rows: HourRows, loop: Figures[_Name], names: Mapping[_Name, int]) -> None:
    """Each numbered name's figure in each hour is the loop's, or `missing` where it has none."""
    hours = {hour for hour, _ in loop} | set(rows.rows)
    ids = np.array(list(names.values()), dtype=np.int64)
    for hour in hours:
        found = rows.at(hour, ids)
        for name, value in zip(names, found.tolist(), strict=True):
            expected = loop.get((hour, name), rows.missing)
            assert value == expected or (np.isnan(value) and np.isnan(expected)), (hour, name)


@settings(max_examples=150, deadline=None)
@given(uploads())
def test_figures_equal_a_loop_over_the_samples(upload: Upload) -> None:
    """CPU, memory, GPUs busy and duty per container and duty per node, per hour, are the
    floats a sample-by-sample loop sums (0 or NaN where a name has no samples)."""
    figures = sample_hours(upload.containers, upload.gpus).figures(upload.refs, upload.nodes)
    cpu, memory = _loop_usage(upload.containers)
    used, duty, node_duty = _loop_gpus(upload.gpus)
    _assert_rows(figures.cpu, cpu, upload.refs)
    _assert_rows(figures.memory, memory, upload.refs)
    _assert_rows(figures.gpu_used, used, upload.refs)
    _assert_rows(figures.gpu_duty, duty, upload.refs)
    _assert_rows(figures.node_duty, node_duty, upload.nodes)


@settings(max_examples=60, deadline=None)
@given(uploads(), uploads())
def test_figures_with_the_ids_kept_from_another_upload_equal_fresh_ones(
    first: Upload, second: Upload
) -> None:
    """Figures worked out with the ids kept from an earlier upload (of other names, or the same
    name objects under another numbering) are those worked out afresh."""
    known = KnownIds()
    sample_hours(first.containers, first.gpus).figures(first.refs, first.nodes, known)
    renumbered = {ref: len(second.refs) - 1 - i for ref, i in second.refs.items()}
    for refs in (second.refs, renumbered, renumbered):
        sampled = sample_hours(second.containers, second.gpus)
        kept, fresh = (
            sampled.figures(refs, second.nodes, known),
            sampled.figures(refs, second.nodes),
        )
        for name in ("cpu", "memory", "gpu_used", "gpu_duty", "node_duty"):
            got, expected = getattr(kept, name), getattr(fresh, name)
            assert got.rows == expected.rows
            np.testing.assert_array_equal(got.values, expected.values)


def test_the_same_name_objects_in_the_same_numbering_are_not_looked_up_again() -> None:
    """A list holding the very names of the last one is answered with the ids kept; equal names
    that are other objects, or another numbering, are looked up."""
    known = KnownIds()
    numbering = {ref: i for i, ref in enumerate(REFS)}
    names = [REFS[2], REFS[0], ("ml", "gone", "main")]
    ids = known.ids("containers", names, numbering)
    assert ids.tolist() == [2, 0, -1]
    assert known.ids("containers", list(names), numbering) is ids
    assert (
        known.ids("containers", [(space, pod, name) for space, pod, name in names], numbering)
        is not ids
    )
    assert known.ids("containers", names, numbering).tolist() == [2, 0, -1]
    other = {ref: i + 1 for ref, i in numbering.items()}
    assert known.ids("containers", names, other).tolist() == [3, 1, -1]


@settings(max_examples=100, deadline=None)
@given(uploads())
def test_coverage_is_the_union_of_the_sample_windows(upload: Upload) -> None:
    """The seconds each hour is covered are those of every sample's window, overlaps once."""
    columns = upload.containers
    ends = [_moment(float(at)) for at in columns.seconds]
    windows = [int(columns.window_seconds[int(s)]) for s in columns.series]
    starts = [end - timedelta(seconds=window) for end, window in zip(ends, windows, strict=True)]
    assert sample_hours(columns, upload.gpus).coverage == covered_hours(starts, ends)
