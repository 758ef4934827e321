"""Whether a workload moves replicas to spot now, and how, so that it never pays more than
on-demand for the move.

A move to spot runs each new spot replica for a warm-up before it serves. Run beside the
on-demand replica it replaces, that warm-up costs more than always-on-demand (the move's
excess); if the spot is reclaimed before its saving repays the excess, the workload has paid
more than on-demand. `decide_move` takes a move only in a way whose worst case keeps the cost
at or below on-demand:

* `BESIDE` (the new spot runs beside the on-demand it replaces) when the workload's realised
  saving so far pays the whole excess: the worst case spends savings, never more;
* `IN_PLACE` (the replaced on-demand replicas are stopped at once, no excess at all, fewer
  replicas serving for a warm-up) when the floor holds without them and the expected value is
  positive by a margin: the payback time (excess over the saving per hour once the spot serves)
  is at most `payback_share` of the expected time until the first of the new spot replicas is
  reclaimed (the inverse of their summed interruption rate). What such a move spends is
  availability, not money, so it is spent only on a move expected to pay well before a reclaim.

A move with no excess (spot cheaper than on-demand even while warming) is always taken. The
bound, by induction from a zero saving: every `BESIDE` move is prepaid and every `IN_PLACE` move
costs no more than the on-demand it replaces, so the cost of a workload driven by this rule
never exceeds always-on-demand's, whatever the reclaims do afterwards.

The live recommendations call it with the interruption bucket of each pool (as a rate), a
realised saving of 0, and "in place" when the plan's floor (the PDB's minAvailable, 0 for one
replica with a surge on notice) is below the replica count; `bench.spot_policies.Slicewise`
calls it every tick with the saving its replay has realised and "in place" when the replay's
availability budget (1 - target of the time so far, less the time already short) has room for
a warm-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class MoveDecision(StrEnum):
    """What to do with a move to spot."""

    STAY = "stay"
    """Keep the replicas where they are."""
    BESIDE = "beside"
    """Start the spot replicas beside the on-demand ones; stop those once the spot serves."""
    IN_PLACE = "in-place"
    """Stop the on-demand replicas the spot replaces at once; start the spot replicas."""


@dataclass(frozen=True, slots=True)
class MoveTerms:
    """What a workload knows about one move to spot."""

    saving_hourly: float
    """On-demand cost an hour minus the planned split's expected cost an hour, once serving."""
    excess_usd: float
    """What running the new spot beside the on-demand it replaces costs above always-on-demand
    over the warm-up (0 or less: the move costs nothing extra)."""
    realised_saving_usd: float
    """What the workload has saved against always-on-demand so far (0 when unknown)."""
    reclaims_per_hour: float
    """Expected reclaims an hour over the new spot replicas together."""
    in_place_allowed: bool
    """Whether the replaced on-demand replicas can be stopped at once (the floor holds)."""


@dataclass(frozen=True, slots=True)
class MoveRule:
    """The rule's margin; the default is `bench.spot`'s choice on every multi-zone scenario
    (`parameters.slicewise_chosen_on_all`)."""

    payback_share: float = 1.0
    """Largest share of the expected spot lifetime the payback time may take."""


def pays_back(terms: MoveTerms, rule: MoveRule) -> bool:
    """Whether the move's excess is expected to be repaid well before its spot is reclaimed."""
    if terms.excess_usd <= 0.0:
        return True
    if terms.saving_hourly <= 0.0:
        return False
    payback_hours = terms.excess_usd / terms.saving_hourly
    if terms.reclaims_per_hour <= 0.0:
        return True
    return payback_hours <= rule.payback_share / terms.reclaims_per_hour


def decide_move(terms: MoveTerms, rule: MoveRule) -> MoveDecision:
    """Whether and how to move replicas to spot now (see the module docstring)."""
    if terms.excess_usd <= 0.0 or terms.realised_saving_usd >= terms.excess_usd:
        return MoveDecision.BESIDE
    if terms.in_place_allowed and pays_back(terms, rule):
        return MoveDecision.IN_PLACE
    return MoveDecision.STAY
