"""The autoscaling day chart: demand against proposed capacity, and replicas, as SVG."""

from __future__ import annotations

from gateway.console.evidence import recommendation_panels

DAY = {
    "start": 1_700_438_400.0,
    "step_seconds": 3600.0,
    "demand": [1.0] * 9 + [5.0] * 8 + [1.0] * 7,
    "current_replicas": [8.0] * 24,
    "proposed_replicas": [2.0] * 8 + [8.0] * 9 + [2.0] * 7,
    "proposed_capacity": [2.0] * 8 + [8.0] * 9 + [2.0] * 7,
}


def test_a_day_chart_becomes_two_charts() -> None:
    """Capacity in cores and replicas each get their own chart panel."""
    panels = recommendation_panels({"day": DAY})
    assert [p.chart is not None for p in panels] == [True, True]
    assert "Demand and proposed capacity" in str(panels[0].chart)
    assert "Replicas over the last day" in str(panels[1].chart)


def test_the_charts_draw_demand_proposed_and_current_lines() -> None:
    """Each series is a step line with its own class for the stylesheet."""
    capacity, replicas = (str(p.chart) for p in recommendation_panels({"day": DAY}))
    assert "series-demand" in capacity
    assert "series-proposed" in capacity
    assert "series-current" in replicas


def test_the_time_axis_reads_hours() -> None:
    """A day is labelled by the hour, starting at midnight."""
    capacity = str(recommendation_panels({"day": DAY})[0].chart)
    assert "00:00" in capacity


def test_other_evidence_beside_the_chart_stays_figures() -> None:
    """Findings next to the day chart are still listed."""
    panels = recommendation_panels({"day": DAY, "scale_events_per_hour": 6.5})
    assert panels[-1].title == "Figures"


def test_gpu_demand_is_charted_in_gpus() -> None:
    """A day of GPU-duty demand is titled and labelled in GPUs, not cores."""
    capacity = str(recommendation_panels({"day": {**DAY, "unit": "GPUs"}})[0].chart)
    assert "(GPUs)" in capacity
    assert "GPUs" in capacity.split("(GPUs)", 1)[1]
