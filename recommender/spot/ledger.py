"""What spot has saved against always-on-demand so far, and what a step may spend of it.

`plan_split` keeps a split's expected cost strictly below always-on-demand, but a fleet that
follows it pays more than on-demand for a while at times: new spot replicas warm up beside the
on-demand replicas they will replace, and after a reclaim on-demand cover runs beside the spot
that is left. When reclaims come sooner than the expectation assumed, those stretches can add up
to more than the spot hours saved.

The ledger keeps the savings so far, `saved_usd` (what `serving` on-demand replicas would have
cost minus what the fleet cost), for `recommender.spot.move.decide_move`, which starts spot
beside on-demand only when they pay the move's excess, and for `affordable`: a step whose
excess the savings do not cover runs plain on-demand instead (no spot, at most `serving`
on-demand replicas, which costs at most what always-on-demand costs).

Every step then leaves `saved_usd` at zero or above (by induction from zero: a step is either
covered by the savings or costs no more than on-demand), so the cost paid never exceeds
always-on-demand's at any point, whatever the reclaims do. A fleet with nothing saved still
moves to spot when the move is made in place (`decide_move`). `bench.spot_policies.Slicewise`,
which re-plans a replayed fleet every tick, is driven by the ledger; a live recommendation is a
one-off plan, with a realised saving of 0.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SavingsLedger:
    """Savings against always-on-demand, in USD, of one workload so far."""

    saved_usd: float = 0.0

    def affordable(self, on_demand_hourly: float, fleet_hourly: float, hours: float) -> bool:
        """Whether running a fleet costing `fleet_hourly` for `hours` keeps the savings >= 0;
        `on_demand_hourly` is what always-on-demand costs an hour (every replica on-demand)."""
        return self.saved_usd + (on_demand_hourly - fleet_hourly) * hours >= 0.0

    def after(self, on_demand_hourly: float, fleet_hourly: float, hours: float) -> SavingsLedger:
        """The ledger once a fleet costing `fleet_hourly` has run for `hours`."""
        return SavingsLedger(self.saved_usd + (on_demand_hourly - fleet_hourly) * hours)
