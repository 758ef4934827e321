"""Savings over time: approved (estimated) against applied (realised), and spend."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from gateway.console.savings import savings_series
from store.repositories.console_savings import CostPoint, SavingEvent

T0 = datetime(2026, 10, 1, tzinfo=UTC)
A, B = uuid.uuid4(), uuid.uuid4()
C1, C2 = uuid.uuid4(), uuid.uuid4()


def test_run_rates_step_up_at_approval_and_at_application() -> None:
    """$730/mo approved on day 0 and applied on day 10 shows as estimated first, realised later."""
    approvals = [SavingEvent(T0, A, 730.0)]
    applications = [SavingEvent(T0 + timedelta(days=10), A, 730.0)]
    points = savings_series(
        approvals, applications, [], start=T0, end=T0 + timedelta(days=20), step=timedelta(days=5)
    )
    assert [(p.estimated_monthly_usd, p.realised_monthly_usd) for p in points] == [
        (730.0, 0.0),
        (730.0, 0.0),
        (730.0, 730.0),
        (730.0, 730.0),
        (730.0, 730.0),
    ]


def test_realised_to_date_accrues_by_the_hour() -> None:
    """$730 a month is $1 an hour: ten days after applying, $240 were saved."""
    applications = [SavingEvent(T0, A, 730.0)]
    (point,) = savings_series(
        [], applications, [], start=T0 + timedelta(days=10), end=T0 + timedelta(days=10)
    )
    assert point.realised_to_date_usd == pytest.approx(240.0)


def test_spend_sums_each_clusters_latest_price() -> None:
    """Cluster 1 re-priced from $1000 to $800 plus cluster 2 at $500."""
    costs = [
        CostPoint(C1, T0, 1000.0),
        CostPoint(C2, T0 + timedelta(days=1), 500.0),
        CostPoint(C1, T0 + timedelta(days=2), 800.0),
    ]
    points = savings_series(
        [], [], costs, start=T0, end=T0 + timedelta(days=3), step=timedelta(days=1)
    )
    assert [p.monthly_cost_usd for p in points] == [1000.0, 1500.0, 1300.0, 1300.0]


def test_spend_is_unknown_before_any_pricing() -> None:
    """No cost point yet: None, not zero."""
    (point,) = savings_series(
        [], [], [CostPoint(C1, T0, 1.0)], start=T0 - timedelta(days=1), end=T0 - timedelta(days=1)
    )
    assert point.monthly_cost_usd is None


def test_series_ends_exactly_at_end() -> None:
    """The last point is `end` even when it is not a whole step after `start`."""
    points = savings_series([], [], [], start=T0, end=T0 + timedelta(hours=36))
    assert [p.at for p in points] == [T0, T0 + timedelta(days=1), T0 + timedelta(hours=36)]


def test_two_approvals_add_up() -> None:
    """Estimated is the sum of every approval so far."""
    approvals = [SavingEvent(T0, A, 100.0), SavingEvent(T0 + timedelta(days=1), B, 250.5)]
    points = savings_series(approvals, [], [], start=T0, end=T0 + timedelta(days=1))
    assert [p.estimated_monthly_usd for p in points] == [100.0, 350.5]
