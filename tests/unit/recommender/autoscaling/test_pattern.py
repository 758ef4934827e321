"""Daily and weekly pattern detection."""

from __future__ import annotations

from recommender.autoscaling.pattern import Period, detect_pattern
from tests.unit.recommender.autoscaling.series import daily, flat, noise, weekdays


def test_office_hours_demand_is_daily() -> None:
    """Demand that peaks 09:00-17:00 every day is a strong daily pattern."""
    pattern = detect_pattern(daily(1.0, 5.0, 14))
    assert pattern.period is Period.DAILY
    assert pattern.strength > 0.9


def test_weekday_demand_is_weekly() -> None:
    """Demand high on weekdays and low at weekends is weekly, not daily."""
    assert detect_pattern(weekdays(1.0, 5.0, 28)).period is Period.WEEKLY


def test_noise_has_no_pattern() -> None:
    """Independent noise explains nothing by hour of day or week."""
    assert detect_pattern(noise(3.0, 28)).period is Period.NONE


def test_flat_demand_has_no_pattern() -> None:
    """A constant has no variance to explain."""
    assert detect_pattern(flat(2.0, 14)).strength == 0.0


def test_less_than_two_cycles_is_not_a_pattern() -> None:
    """One and a half days cannot show that a day repeats."""
    assert detect_pattern(daily(1.0, 5.0, 1.5)).period is Period.NONE
