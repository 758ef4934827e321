"""`decide_move`: a move to spot is taken only in a way whose worst case costs no more than
on-demand; one made in place only when it pays back well inside the spot's expected lifetime."""

from __future__ import annotations

from recommender.spot.move import MoveDecision, MoveRule, MoveTerms, decide_move, pays_back

RULE = MoveRule(payback_share=0.25)


def _terms(
    *,
    excess: float = 1.0,
    saving: float = 10.0,
    realised: float = 0.0,
    rate: float = 0.1,
    in_place: bool = False,
) -> MoveTerms:
    return MoveTerms(
        saving_hourly=saving,
        excess_usd=excess,
        realised_saving_usd=realised,
        reclaims_per_hour=rate,
        in_place_allowed=in_place,
    )


def test_payback_well_inside_the_expected_lifetime_pays_back() -> None:
    """$1 repaid at $10 an hour in 0.1 h; a reclaim every 10 h allows 2.5 h at share 0.25."""
    assert pays_back(_terms(), RULE)


def test_payback_beyond_its_share_of_the_lifetime_does_not() -> None:
    """$30 at $10 an hour takes 3 h, more than a quarter of a 10 h expected lifetime."""
    assert not pays_back(_terms(excess=30.0), RULE)


def test_no_saving_never_pays_back() -> None:
    """A split no cheaper than on-demand has nothing to repay its warm-up with."""
    assert not pays_back(_terms(saving=0.0), RULE)


def test_move_without_excess_is_always_taken() -> None:
    """Spot cheaper than on-demand even while it warms costs nothing extra."""
    assert decide_move(_terms(excess=0.0, saving=0.0), RULE) is MoveDecision.BESIDE


def test_move_prepaid_by_realised_savings_runs_beside_on_demand() -> None:
    """Savings covering the whole excess let the spot warm beside the on-demand it replaces."""
    assert decide_move(_terms(realised=1.0), RULE) is MoveDecision.BESIDE


def test_unfunded_move_goes_in_place_when_the_floor_allows() -> None:
    """With nothing saved, the on-demand replicas are stopped at once instead: no excess."""
    assert decide_move(_terms(in_place=True), RULE) is MoveDecision.IN_PLACE


def test_unfunded_move_that_must_run_beside_on_demand_is_not_taken() -> None:
    """Nothing saved and the floor needs every replica: the move could end above on-demand."""
    assert decide_move(_terms(realised=0.5), RULE) is MoveDecision.STAY


def test_unfunded_move_that_does_not_pay_back_is_not_made_in_place() -> None:
    """Availability is not spent on a warm-up a reclaim is expected to waste."""
    assert decide_move(_terms(excess=30.0, in_place=True), RULE) is MoveDecision.STAY


def test_prepaid_move_is_taken_whatever_its_payback() -> None:
    """A move the savings pay for cannot take the cost above on-demand."""
    assert decide_move(_terms(excess=30.0, realised=30.0), RULE) is MoveDecision.BESIDE
