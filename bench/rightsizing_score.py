"""Scoring windows of `bench.rightsizing`: what each policy would have wasted and risked.

A window is one VM's learning period (14 days by default) and the scoring period after it. Every
policy recommends once from the learning period; the recommendation is held over the scoring
period. Figures pool every window of a subset of VMs:

* slack share: sum over scored samples of max(recommended - used, 0), over the sum of the
  originally provisioned amount;
* CPU under-provision share / memory risk share: share of scored samples whose use exceeds the
  recommendation.

A policy that makes no recommendation (too little evidence) is scored with the provisioned
amounts, as nothing would change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from bench.rightsizing_policies import Recommendation
from recommender.usage.state import ContainerUsageState


@dataclass(frozen=True, slots=True)
class Window:
    """One learning-and-scoring window of one VM, with what every policy needs from it."""

    vm: str
    tuning: bool
    """Whether the VM belongs to the half that parameters are chosen on."""
    end: float
    """End of the learning period: the moment of recommending (epoch seconds)."""
    baselines: dict[str, Recommendation]
    """The baselines' recommendations, keyed by policy name."""
    state: ContainerUsageState
    """Ours: the usage state folded from the learning period."""
    cpu_used: NDArray[np.float64]
    memory_used: NDArray[np.float64]
    cpu_provisioned: NDArray[np.float64]
    memory_provisioned: NDArray[np.float64]


@dataclass(slots=True)
class Tally:
    """Pooled sums of one policy over the windows scored so far."""

    cpu_slack: float = 0.0
    cpu_provisioned: float = 0.0
    cpu_recommended: float = 0.0
    cpu_exceeded: int = 0
    memory_slack: float = 0.0
    memory_provisioned: float = 0.0
    memory_recommended: float = 0.0
    memory_exceeded: int = 0
    samples: int = 0
    windows: int = 0
    recommended: int = 0

    def add(self, outcome: Recommendation, window: Window) -> None:
        """Score one recommendation (None: keep what is provisioned) on one window."""
        cpu_used, memory_used = window.cpu_used, window.memory_used
        cpu_prov, memory_prov = window.cpu_provisioned, window.memory_provisioned
        cpu_rec = np.full(cpu_used.shape, outcome[0]) if outcome else cpu_prov
        memory_rec = np.full(memory_used.shape, outcome[1]) if outcome else memory_prov
        self.cpu_slack += float(np.maximum(cpu_rec - cpu_used, 0).sum())
        self.cpu_provisioned += float(cpu_prov.sum())
        self.cpu_recommended += float(cpu_rec.sum())
        self.cpu_exceeded += int((cpu_used > cpu_rec).sum())
        self.memory_slack += float(np.maximum(memory_rec - memory_used, 0).sum())
        self.memory_provisioned += float(memory_prov.sum())
        self.memory_recommended += float(memory_rec.sum())
        self.memory_exceeded += int((memory_used > memory_rec).sum())
        self.samples += cpu_used.size
        self.windows += 1
        self.recommended += outcome is not None

    def cpu(self) -> dict[str, float]:
        """CPU shares from the sums."""
        return {
            "slack_share": self.cpu_slack / max(self.cpu_provisioned, 1e-12),
            "under_provision_share": self.cpu_exceeded / max(self.samples, 1),
            "recommended_over_provisioned": self.cpu_recommended / max(self.cpu_provisioned, 1e-12),
        }

    def memory(self) -> dict[str, float]:
        """Memory shares from the sums."""
        return {
            "slack_share": self.memory_slack / max(self.memory_provisioned, 1e-12),
            "risk_share": self.memory_exceeded / max(self.samples, 1),
            "recommended_over_provisioned": self.memory_recommended
            / max(self.memory_provisioned, 1e-12),
        }

    def figures(self) -> dict[str, object]:
        """Every figure of the policy."""
        return {
            "cpu": self.cpu(),
            "memory": self.memory(),
            "windows": self.windows,
            "windows_recommended": self.recommended,
            "test_samples": self.samples,
        }


SUBSETS = ("all", "tuning", "held_out")
"""Every VM; the half parameters are chosen on; the other half."""


def subsets_of(window: Window) -> tuple[str, str]:
    """The subsets a window is pooled into."""
    return ("all", "tuning" if window.tuning else "held_out")
