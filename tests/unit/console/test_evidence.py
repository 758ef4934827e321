"""The recommender's evidence as charts and figures."""

from __future__ import annotations

import pytest

from gateway.console.evidence import format_value, recommendation_panels


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("spot_hourly_usd", 0.292, "$0.29"),
        ("monthly_cost_usd", 41870.0, "$41,870"),
        ("gpu_memory_peak_bytes", 37.5 * 2**30, "37.5 GiB"),
        ("request_cores", 0.25, "250m"),
        ("history_seconds", 691_200, "8.0 days"),
        ("window_seconds", 7200, "2.0 h"),
        ("spot_discount", 0.62, "62.0 %"),
        ("replicas", 6, "6"),
        ("ratio", 3.5, "3.5"),
        ("mig_profile", "3g.40gb", "3g.40gb"),
        ("preemptible", True, "yes"),
        ("zones", ["a", "b"], "a, b"),
        ("limits", {"cpu": 1}, '{"cpu": 1}'),
    ],
)
def test_values_are_formatted_by_their_key(key: str, value: object, expected: str) -> None:
    """Units come from key suffixes; fractions from words like `discount`."""
    assert format_value(key, value) == expected


def test_interruption_bucket_is_drawn_on_the_advisor_scale() -> None:
    """`<5%` highlights the first of the five Spot Advisor buckets."""
    (panel,) = recommendation_panels({"interruption_bucket": "<5%"})
    assert panel.title == "Interruption bucket"
    assert panel.chart is not None
    assert 'class="step step-selected"' in panel.chart
    assert panel.chart.count('class="step"') == 4
    assert "Observed bucket: &lt;5%" in panel.chart


def test_percentiles_are_ordered_low_to_high() -> None:
    """JSONB reorders keys; the chart puts p50, p95, max in order."""
    (panel,) = recommendation_panels({"gpu_utilization": {"max": 0.62, "p95": 0.26, "p50": 0.0}})
    assert [f.name for f in panel.figures] == ["p50", "p95", "max"]
    assert [f.value for f in panel.figures] == ["0.0 %", "26.0 %", "62.0 %"]
    assert panel.title == "GPU utilization"


def test_other_values_become_figures() -> None:
    """Scalars that no chart fits are listed, humanised."""
    (panel,) = recommendation_panels({"gpus_freed": 2, "mig_profile": "3g.40gb"})
    assert panel.title == "Figures"
    assert [(f.name, f.value) for f in panel.figures] == [
        ("GPUs freed", "2"),
        ("MIG profile", "3g.40gb"),
    ]


def test_lists_of_records_become_a_table_name_first() -> None:
    """Per-container evidence is a table: the container, then current, then target values."""
    (panel,) = recommendation_panels(
        {
            "containers": [
                {
                    "target_cpu_millis": 708,
                    "samples": 2274,
                    "container": "api",
                    "current_cpu_millis": 2000,
                    "confidence": 1.0,
                }
            ]
        }
    )
    assert panel.columns == ["Container", "Current CPU", "Target CPU", "Samples", "Confidence"]
    assert panel.rows == [["api", "2 cores", "708m", "2,274", "100.0 %"]]
