"""PDB arithmetic, rounding as the disruption controller does."""

from __future__ import annotations

import pytest

from recommender.spot.pdb import (
    PdbValueError,
    allowed_disruptions,
    budget_at_full_health,
    desired_healthy,
    scaled_value,
)
from tests.unit.recommender.factories import pdb


def test_integer_min_available_is_taken_as_is() -> None:
    """minAvailable 2 of 5 keeps 2."""
    assert desired_healthy(2, None, 5) == 2


def test_percent_min_available_rounds_up() -> None:
    """minAvailable 50 % of 3 pods is 2 (1.5 rounded up)."""
    assert desired_healthy("50%", None, 3) == 2


def test_percent_max_unavailable_rounds_up() -> None:
    """maxUnavailable 50 % of 3 pods is 2 (1.5 rounded up), so 1 must stay."""
    assert desired_healthy(None, "50%", 3) == 1


def test_integer_max_unavailable_subtracts_from_expected() -> None:
    """maxUnavailable 1 of 4 keeps 3."""
    assert desired_healthy(None, 1, 4) == 3


def test_thirty_three_percent_of_ten_rounds_up_both_ways() -> None:
    """33 % of 10 is 3.3: minAvailable keeps 4, maxUnavailable allows 4 (keeps 6)."""
    assert (desired_healthy("33%", None, 10), desired_healthy(None, "33%", 10)) == (4, 6)


def test_max_unavailable_larger_than_expected_keeps_none() -> None:
    """maxUnavailable 5 of 3 keeps nobody."""
    assert desired_healthy(None, 5, 3) == 0


def test_allowed_disruptions_count_healthy_pods_above_the_floor() -> None:
    """minAvailable 2: three healthy pods allow one eviction, two allow none."""
    assert allowed_disruptions(2, None, 3, 3) == 1
    assert allowed_disruptions(2, None, 3, 2) == 0


def test_budget_at_full_health_takes_the_strictest_pdb() -> None:
    """Two PDBs on 6 replicas (min 3, maxUnavailable 1): the second keeps 5."""
    budgets = [pdb("a", "web", min_available=3), pdb("b", "web", max_unavailable=1)]
    assert budget_at_full_health(budgets, 6) == (5, 1)


def test_digit_string_reads_as_an_integer() -> None:
    """'2' counts as 2 pods."""
    assert scaled_value("2", 10) == 2


def test_garbage_value_is_refused() -> None:
    """Neither integer nor percentage raises."""
    with pytest.raises(PdbValueError):
        scaled_value("half", 4)
