"""Everything stored per workload container: the recommender's usage state and GPU duty history.

Stored as one fixed-size byte string in the layout of `protocol.usage_state`: a small header,
the recommender's `ContainerUsageState` bytes, then the GPU duty history.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from protocol.usage_state import (
    UsageStateFormatError,
    join_container_history,
    split_container_history,
)
from recommender.autoscaling.demand_history import DemandHistory
from recommender.usage.gpu_duty import GpuDutyHistory, GpuDutyStateError
from recommender.usage.state import ContainerUsageState, UsageSettings


class ContainerHistoryError(ValueError):
    """Stored bytes that cannot be read back as a container history."""


@dataclass
class ContainerHistory:
    """CPU, memory and GPU-memory histograms with signals, plus GPU duty cycle."""

    usage: ContainerUsageState
    gpu: GpuDutyHistory = field(default_factory=GpuDutyHistory)
    demand: DemandHistory = field(default_factory=DemandHistory)
    """CPU demand; stored beside the history's bytes, in chunks (`usage_fold.to_record`)."""
    gpu_demand: DemandHistory = field(default_factory=DemandHistory)
    """GPU-duty demand (GPUs busy), stored in chunks as the CPU demand is."""

    @classmethod
    def empty(cls, settings: UsageSettings | None = None) -> ContainerHistory:
        """A history that has seen nothing, fading at the given half-lives."""
        chosen = settings or UsageSettings()
        return cls(ContainerUsageState(chosen), GpuDutyHistory(chosen.half_life_seconds))

    def to_bytes(self) -> bytes:
        """Fixed-size binary form."""
        return join_container_history(self.usage.to_bytes(), self.gpu.to_bytes())

    @classmethod
    def from_bytes(cls, data: bytes) -> ContainerHistory:
        """Restore a history written by `to_bytes`."""
        try:
            usage_part, gpu_part = split_container_history(data)
            usage = ContainerUsageState.from_bytes(usage_part)
            gpu = GpuDutyHistory.from_bytes(gpu_part)
        except (UsageStateFormatError, GpuDutyStateError) as e:
            raise ContainerHistoryError(str(e)) from e
        return cls(usage, gpu)
