"""Everything stored per workload container: the recommender's usage state and GPU duty history.

Stored as one fixed-size byte string: a small header, the recommender's
`ContainerUsageState` bytes, then the GPU duty history.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from recommender.autoscaling.demand_history import DemandHistory
from recommender.usage.histogram import HistogramStateError
from recommender.usage.state import ContainerUsageState, UsageSettings
from workers.ingest.gpu_duty import GpuDutyHistory, GpuDutyStateError

_HEADER = struct.Struct("<4sBxxxI")
_MAGIC = b"SWCH"
_VERSION = 1


class ContainerHistoryError(ValueError):
    """Stored bytes that cannot be read back as a container history."""


@dataclass
class ContainerHistory:
    """CPU, memory and GPU-memory histograms with signals, plus GPU duty cycle."""

    usage: ContainerUsageState
    gpu: GpuDutyHistory = field(default_factory=GpuDutyHistory)
    demand: DemandHistory = field(default_factory=DemandHistory)
    """Stored beside the history's bytes, in its own column (see `usage_fold.to_record`)."""

    @classmethod
    def empty(cls, settings: UsageSettings | None = None) -> ContainerHistory:
        """A history that has seen nothing, fading at the given half-lives."""
        chosen = settings or UsageSettings()
        return cls(ContainerUsageState(chosen), GpuDutyHistory(chosen.half_life_seconds))

    def to_bytes(self) -> bytes:
        """Fixed-size binary form."""
        usage = self.usage.to_bytes()
        return _HEADER.pack(_MAGIC, _VERSION, len(usage)) + usage + self.gpu.to_bytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> ContainerHistory:
        """Restore a history written by `to_bytes`."""
        if len(data) < _HEADER.size:
            raise ContainerHistoryError("container history is truncated")
        magic, version, usage_length = _HEADER.unpack_from(data)
        if magic != _MAGIC or version != _VERSION:
            raise ContainerHistoryError("not a container history of a known version")
        start = _HEADER.size
        try:
            usage = ContainerUsageState.from_bytes(data[start : start + usage_length])
            gpu = GpuDutyHistory.from_bytes(data[start + usage_length :])
        except (HistogramStateError, GpuDutyStateError) as e:
            raise ContainerHistoryError(str(e)) from e
        return cls(usage, gpu)
