"""An upload's series gathered by workload container: containers in key order, each one's
samples by pod name, series of one pod in the order they came."""

from __future__ import annotations

import numpy as np

from recommender.cost.sample_hours import ContainerColumns
from recommender.usage.key import ContainerKey
from workers.ingest.grouped_samples import group_containers

WEB = ContainerKey("shop", "Deployment", "web", "app")
SIDECAR = ContainerKey("shop", "Deployment", "web", "proxy")


def _columns(refs: list[tuple[str, str, str]], lengths: list[int]) -> ContainerColumns:
    seconds = np.arange(sum(lengths), dtype=np.float64)
    return ContainerColumns(
        refs=refs,
        window_seconds=np.full(len(refs), 60, dtype=np.int64),
        series=np.repeat(np.arange(len(refs), dtype=np.int64), lengths),
        seconds=seconds,
        cpu_cores=seconds / 10,
        memory_bytes=seconds * 1000,
        throttled_fraction=np.full(seconds.size, np.nan),
    )


def test_series_gather_by_key_then_pod_keeping_their_order() -> None:
    """web-b's two series, web-a's app and proxy, an unknown pod's: app samples a then b (b's
    series in the order sent), proxy after, the unknown pod's left out."""
    refs = [
        ("shop", "web-b", "app"),
        ("shop", "web-a", "proxy"),
        ("shop", "web-b", "app"),
        ("shop", "gone", "app"),
        ("shop", "web-a", "app"),
    ]
    columns = _columns(refs, [2, 1, 1, 3, 1])
    grouped = group_containers(
        columns, [WEB, SIDECAR, WEB, None, WEB], ["web-b", "web-a", "web-b", "gone", "web-a"]
    )
    assert grouped.keys == [WEB, SIDECAR]
    assert grouped.bounds == [0, 4, 5]
    assert grouped.seconds.tolist() == [7.0, 0.0, 1.0, 3.0, 2.0]
    assert grouped.cpu_cores.tolist() == [0.7, 0.0, 0.1, 0.3, 0.2]
    assert grouped.pods == ["web-a", "web-b", "web-b", "web-b", "web-a"]


def test_no_known_series_gather_nothing() -> None:
    """Series of unknown pods only: no keys, no samples."""
    grouped = group_containers(_columns([("shop", "gone", "app")], [2]), [None], ["gone"])
    assert (grouped.keys, grouped.bounds, grouped.seconds.size) == ([], [0], 0)
