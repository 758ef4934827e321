"""metrics.k8s.io objects become container and node usage samples."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agent.convert.usage import go_duration_seconds, node_usage, pod_usage


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30.0),
        ("1m30.5s", 90.5),
        ("1h0m0s", 3600.0),
        ("250ms", 0.25),
        ("x", None),
        ("", None),
    ],
)
def test_go_durations(text: str, seconds: float | None) -> None:
    """Go duration strings parse to seconds; anything else is None."""
    assert go_duration_seconds(text) == seconds


def test_pod_metrics_give_one_sample_per_container() -> None:
    """CPU in nanocores and memory in KiB become cores and bytes, with the window."""
    samples = pod_usage(
        {
            "metadata": {"name": "web-1", "namespace": "shop"},
            "timestamp": "2026-03-02T10:00:00Z",
            "window": "10.5s",
            "containers": [
                {"name": "web", "usage": {"cpu": "125000000n", "memory": "204800Ki"}},
                {"name": "sidecar", "usage": {"cpu": "3m", "memory": "16Mi"}},
            ],
        }
    )
    assert [(s.container, s.cpu_cores, s.memory_bytes, s.window_seconds) for s in samples] == [
        ("web", 0.125, 209_715_200, 11),
        ("sidecar", 0.003, 16_777_216, 11),
    ]
    assert samples[0].timestamp == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    assert (samples[0].namespace, samples[0].pod) == ("shop", "web-1")


def test_malformed_container_entry_is_skipped() -> None:
    """A container without usage does not lose its siblings."""
    samples = pod_usage(
        {
            "metadata": {"name": "p", "namespace": "n"},
            "timestamp": "2026-03-02T10:00:00Z",
            "window": "30s",
            "containers": [
                {"name": "a", "usage": {"cpu": "1"}},
                {"name": "b", "usage": {"cpu": "1", "memory": "1Mi"}},
            ],
        }
    )
    assert [s.container for s in samples] == ["b"]


def test_node_metrics_sample() -> None:
    """NodeMetrics become one node sample."""
    sample = node_usage(
        {
            "metadata": {"name": "gpu-node-1"},
            "timestamp": "2026-03-02T10:00:00Z",
            "window": "20s",
            "usage": {"cpu": "3500m", "memory": "12Gi"},
        }
    )
    assert sample is not None
    assert (sample.node, sample.cpu_cores, sample.memory_bytes) == ("gpu-node-1", 3.5, 12 * 2**30)


def test_node_metrics_without_timestamp_are_dropped() -> None:
    """No timestamp, no sample."""
    assert node_usage({"metadata": {"name": "n"}, "usage": {"cpu": "1", "memory": "1"}}) is None
