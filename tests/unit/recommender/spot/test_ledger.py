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
