"""`SavingsLedger`: spot spends only what it has saved against always-on-demand."""

from __future__ import annotations

import pytest

from recommender.spot.ledger import SavingsLedger


def test_savings_grow_by_what_a_cheaper_fleet_saves() -> None:
    """Four on-demand replicas at $1 against a fleet at $2.5 for two hours save $3."""
    assert SavingsLedger().after(4.0, 2.5, 2.0).saved_usd == pytest.approx(3.0)


def test_fleet_dearer_than_on_demand_is_not_affordable_without_savings() -> None:
    """With nothing saved, any excess over always-on-demand would put the cost above it."""
    assert not SavingsLedger().affordable(4.0, 4.5, 0.1)


def test_plain_on_demand_is_always_affordable() -> None:
    """The fallback costs what always-on-demand costs, so it is affordable with nothing saved."""
    assert SavingsLedger().affordable(4.0, 4.0, 1.0)


def test_spot_starts_only_when_savings_pay_a_whole_warm_up_of_the_excess() -> None:
    """$1 an hour of excess for a 0.5 h warm-up needs $0.5 saved, not just one tick's worth."""
    assert not SavingsLedger(0.4).may_start_spot(4.0, 5.0, 0.5)
    assert SavingsLedger(0.5).may_start_spot(4.0, 5.0, 0.5)
