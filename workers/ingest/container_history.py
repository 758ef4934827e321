"""Everything stored per workload container: usage state, GPU duty and demand histories.

Stored as one fixed-size byte string: a small header, the recommender's
`ContainerUsageState` bytes, the GPU duty history, then (from version 2) the demand history
autoscaling advice reads. Version 1 rows read back with an empty demand history.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from recommender.autoscaling.demand_history import SIZE as DEMAND_SIZE
from recommender.autoscaling.demand_history import DemandHistory, DemandHistoryError
from recommender.usage.histogram import HistogramStateError
from recommender.usage.state import ContainerUsageState, UsageSettings
from workers.ingest.gpu_duty import GpuDutyHistory, GpuDutyStateError

_HEADER = struct.Struct("<4sBxxxI")
_MAGIC = b"SWCH"
_VERSION = 2
_VERSIONS = frozenset({1, 2})


class ContainerHistoryError(ValueError):
    """Stored bytes that cannot be read back as a container history."""


@dataclass
class ContainerHistory:
    """CPU, memory and GPU-memory histograms with signals, GPU duty cycle and CPU demand."""

    usage: ContainerUsageState
    gpu: GpuDutyHistory = field(default_factory=GpuDutyHistory)
    demand: DemandHistory = field(default_factory=DemandHistory)

    @classmethod
    def empty(cls, settings: UsageSettings | None = None) -> ContainerHistory:
        """A history that has seen nothing, fading at the given half-lives."""
        chosen = settings or UsageSettings()
        return cls(ContainerUsageState(chosen), GpuDutyHistory(chosen.half_life_seconds))

    def to_bytes(self) -> bytes:
        """Fixed-size binary form."""
        usage = self.usage.to_bytes()
        header = _HEADER.pack(_MAGIC, _VERSION, len(usage))
        return header + usage + self.gpu.to_bytes() + self.demand.to_bytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> ContainerHistory:
        """Restore a history written by `to_bytes`."""
        if len(data) < _HEADER.size:
            raise ContainerHistoryError("container history is truncated")
        magic, version, usage_length = _HEADER.unpack_from(data)
        if magic != _MAGIC or version not in _VERSIONS:
            raise ContainerHistoryError("not a container history of a known version")
        start = _HEADER.size
        gpu_end = len(data) - (DEMAND_SIZE if version >= 2 else 0)
        try:
            usage = ContainerUsageState.from_bytes(data[start : start + usage_length])
            gpu = GpuDutyHistory.from_bytes(data[start + usage_length : gpu_end])
            demand = DemandHistory.from_bytes(data[gpu_end:]) if version >= 2 else DemandHistory()
        except (HistogramStateError, GpuDutyStateError, DemandHistoryError) as e:
            raise ContainerHistoryError(str(e)) from e
        return cls(usage, gpu, demand)
