"""Knobs of the spot placement policy, with their defaults and why."""

from __future__ import annotations

from dataclasses import dataclass

SPOT_TAINT_KEYS = frozenset(
    {
        "node.kubernetes.io/capacity",
        "cloud.google.com/gke-spot",
        "cloud.google.com/gke-preemptible",
        "kubernetes.azure.com/scalesetpriority",
        "karpenter.sh/capacity-type",
        "eks.amazonaws.com/capacityType",
        "spot",
    }
)
"""Taints clouds and autoscalers put on spot nodes; placement adds tolerations for these only."""


@dataclass(frozen=True, slots=True)
class SpotPolicy:
    """How cautious spot placement is."""

    max_termination_grace_seconds: int = 90
    """AWS gives two minutes' notice, GCP and Azure 30 s; pods must stop well within it."""
    max_startup_seconds: float = 300.0
    """Replacements must be serving soon after a reclaim, or the service runs short."""
    on_demand_floor: int = 1
    """Replicas kept on on-demand even when spot pools alone would respect the PDB: a hedge
    against every pool being reclaimed or unobtainable at once."""
    default_max_unavailable: str = "25%"
    """The PDB created for a workload that has none."""
    max_interruption_bucket: int = 4
    """Spot pools whose interruption bucket index exceeds this are not used."""
    min_monthly_saving_usd: float = 1.0
