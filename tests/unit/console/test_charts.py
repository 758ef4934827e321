"""Charts are inline SVG of the data, with every label escaped."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from gateway.console.charts import Marker, Series, bar_chart, distribution_chart, time_chart
from gateway.console.formatting import cores
from gateway.console.svg import Svg
from gateway.console.usage_reader import ContainerUsage, read_container_usage
from recommender.usage.container_history import ContainerHistory
from recommender.usage.state import ContainerUsageState

HOSTILE = "<script>alert(1)</script>"


def _usage() -> ContainerUsage:
    state = ContainerUsageState()
    seconds = 1_700_000_000.0 + 60.0 * np.arange(4, dtype=np.float64)
    cpu = np.array([0.1, 0.1, 0.5, 1.0], dtype=np.float64)
    memory = np.full(4, 2.0**30, dtype=np.float64)
    state.fold(seconds, cpu, memory, cpu_request_cores=1)
    return read_container_usage("app", ContainerHistory(state).to_bytes())


def test_svg_text_is_escaped() -> None:
    """A workload name in a label cannot open a script element."""
    svg = Svg(10, 10, label=HOSTILE, css_class="chart")
    svg.text(0, 0, HOSTILE, "tick")
    rendered = str(svg.render(HOSTILE))
    assert "<script" not in rendered
    assert rendered.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 3


def test_attribute_values_are_escaped() -> None:
    """A class name cannot close its attribute."""
    svg = Svg(10, 10, label="x", css_class='a" onload="alert(1)')
    assert 'onload="' not in str(svg.render())


def test_distribution_chart_draws_one_bar_per_non_empty_bucket() -> None:
    """Samples at 0.1, 0.5 and 1.0 cores fill three buckets: three bars."""
    usage = _usage()
    chart = distribution_chart(usage.cpu, title="CPU", markers=[], label=cores)
    assert len(re.findall(r'<rect [^>]*class="bar"', chart)) == 3


def test_bar_heights_follow_the_shares() -> None:
    """0.1 cores holds half the weight, so its bar is twice as tall as the 0.5-core bar."""
    usage = _usage()
    chart = distribution_chart(usage.cpu, title="CPU", markers=[], label=cores)
    heights = [float(h) for h in re.findall(r'height="([0-9.]+)" class="bar"', chart)]
    assert max(heights) / min(heights) == pytest.approx(2.0, rel=1e-3)


def test_markers_are_labelled() -> None:
    """The current request and the proposal are drawn as labelled lines."""
    usage = _usage()
    chart = distribution_chart(
        usage.cpu,
        title="CPU",
        markers=[Marker(2.0, "request now", "current"), Marker(0.6, "proposed", "proposed")],
        label=cores,
    )
    assert 'class="marker marker-current"' in chart
    assert ">request now</text>" in chart
    assert ">proposed</text>" in chart


def test_empty_distribution_says_so() -> None:
    """No samples: a note instead of an empty plot."""
    empty = read_container_usage("app", ContainerHistory(ContainerUsageState()).to_bytes())
    assert "No samples recorded yet" in distribution_chart(
        empty.cpu, title="CPU", markers=[], label=cores
    )


def test_time_chart_of_zeros_shows_the_note() -> None:
    """Nothing approved yet reads as a sentence, not a flat line with odd ticks."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    chart = time_chart(
        [Series("Approved", "estimated", [(start, 0.0)])],
        title="Savings",
        start=start,
        end=start + timedelta(days=1),
        empty_note="No savings approved yet",
    )
    assert "No savings approved yet" in chart
    assert "<polyline" not in chart


def test_time_chart_ticks_are_round() -> None:
    """A peak of $4,600 gets gridlines at $0, $2k, $4k and $6k."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    chart = time_chart(
        [Series("Approved", "estimated", [(start, 900.0), (start + timedelta(days=1), 4600.0)])],
        title="Savings",
        start=start,
        end=start + timedelta(days=2),
    )
    ticks = re.findall(r'class="tick">(\$[^<]+)</text>', chart)
    assert ticks[:4] == ["$0", "$2.0k", "$4.0k", "$6.0k"]


def test_bar_chart_scales_to_the_maximum() -> None:
    """0.26 of a maximum of 1.0 is 26 % of the 400-unit track."""
    chart = bar_chart([("p95", 0.26)], title="GPU", label=str, maximum=1.0)
    assert 'width="104" height="18" class="bar"' in chart
