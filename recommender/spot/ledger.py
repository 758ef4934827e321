"""What spot has saved against always-on-demand so far, and what a step may spend of it.

`plan_split` keeps a split's expected cost strictly below always-on-demand, but a fleet that
follows it pays more than on-demand for a while at times: new spot replicas warm up beside the
on-demand replicas they will replace, and after a reclaim on-demand cover runs beside the spot
that is left. When reclaims come sooner than the expectation assumed, those stretches can add up
to more than the spot hours saved.

The ledger makes "never above always-on-demand" hold for the cost actually paid, not only in
expectation. It keeps the savings so far, `saved_usd` (what `serving` on-demand replicas would
have cost minus what the fleet cost), and a fleet driven by it follows two rules:

* a step that starts spot replicas is taken only if the savings pay for its excess over
  on-demand for a whole warm-up (`may_start_spot`), so the starts it makes are prepaid;
* any step whose excess the savings do not cover runs plain on-demand instead (`affordable`
  is False): no spot, at most `serving` on-demand replicas, which costs at most what
  always-on-demand costs.

Every step then leaves `saved_usd` at zero or above (by induction from zero: a step is either
covered by the savings or costs no more than on-demand), so the cost paid never exceeds
always-on-demand's at any point, whatever the reclaims do.

The price of that promise: a fleet that runs all on-demand with nothing saved never moves to
spot, because the move runs the spot replicas beside the on-demand ones for a warm-up that no
saving has paid for yet. `bench.spot_policies.Slicewise`, which re-plans a replayed fleet every
tick, is driven by the ledger; a live recommendation is a one-off plan, held to
`split.beats_on_demand` instead.
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

    def may_start_spot(
        self, on_demand_hourly: float, fleet_hourly: float, warmup_hours: float
    ) -> bool:
        """Whether the savings pay for a fleet that starts spot replicas: its excess over
        always-on-demand for the whole warm-up of the new replicas."""
        return self.affordable(on_demand_hourly, fleet_hourly, warmup_hours)

    def after(self, on_demand_hourly: float, fleet_hourly: float, hours: float) -> SavingsLedger:
        """The ledger once a fleet costing `fleet_hourly` has run for `hours`."""
        return SavingsLedger(self.saved_usd + (on_demand_hourly - fleet_hourly) * hours)
