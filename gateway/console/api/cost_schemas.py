"""Response models of the console's cost allocation API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from store.repositories.cost_rollups import CostGroup, NodeGpuUse


class CostGroupOut(BaseModel):
    """One group's cost over the range, USD."""

    key: str
    cpu_usd: float
    memory_usd: float
    gpu_usd: float
    total_usd: float
    gpu_usage_usd: float
    """The GPU cost by what the GPUs actually did (DCGM duty cycle or memory), beside gpu_usd."""
    gpu_hours: float
    """Physical-GPU hours held (a 1g MIG slice for an hour is 1/7)."""
    idle_share_usd: float
    """The group's share of idle cost when `idle=share` (in proportion to total_usd), else 0."""

    @classmethod
    def of(cls, group: CostGroup, idle_share_usd: float = 0.0) -> CostGroupOut:
        """The response item of a group."""
        return cls(
            key=group.key,
            cpu_usd=round(group.cpu_usd, 4),
            memory_usd=round(group.memory_usd, 4),
            gpu_usd=round(group.gpu_usd, 4),
            total_usd=round(group.total_usd, 4),
            gpu_usage_usd=round(group.gpu_usage_usd, 4),
            gpu_hours=round(group.gpu_hours, 4),
            idle_share_usd=round(idle_share_usd, 4),
        )


class CostPageOut(BaseModel):
    """A page of groups and the range's totals: allocated + idle = node cost."""

    start: datetime
    end: datetime
    group_by: str
    idle_shared: bool
    items: list[CostGroupOut]
    total: int
    page: int
    size: int
    allocated_usd: float
    idle_usd: float
    node_cost_usd: float


class SpendPointOut(BaseModel):
    """Spend in one clock hour."""

    hour: datetime
    spend_usd: float
    idle_usd: float
    monthly_run_rate_usd: float
    """The hour's rate over a 730-hour month, as if the hour had been covered end to end."""


class SpendSeriesOut(BaseModel):
    """Hourly spend, oldest first."""

    start: datetime
    end: datetime
    points: list[SpendPointOut]


class NodeGpuOut(BaseModel):
    """A node over the range."""

    cluster_id: uuid.UUID
    node: str
    instance_type: str | None
    spot: bool
    gpus: float
    cost_usd: float
    idle_usd: float
    gpu_allocated: float
    gpu_duty: float | None

    @classmethod
    def of(cls, use: NodeGpuUse) -> NodeGpuOut:
        """The response item of a node."""
        return cls(
            cluster_id=use.cluster_id,
            node=use.node,
            instance_type=use.instance_type,
            spot=use.spot,
            gpus=use.gpus,
            cost_usd=round(use.total_usd, 4),
            idle_usd=round(use.idle_usd, 4),
            gpu_allocated=round(use.gpu_allocated, 4),
            gpu_duty=None if use.gpu_duty is None else round(use.gpu_duty, 4),
        )


class NodeGpuPageOut(BaseModel):
    """Every node seen in the range, GPU nodes first."""

    start: datetime
    end: datetime
    items: list[NodeGpuOut]


class RealisedSavingOut(BaseModel):
    """An applied recommendation: the estimate it was approved on and the measured saving."""

    recommendation_id: uuid.UUID
    cluster_id: uuid.UUID
    title: str
    kind: str
    applied_at: datetime
    estimated_monthly_usd: float
    measured_monthly_usd: float | None
    """None until at least an hour is measured on each side of the change."""
    before_hourly_usd: float | None
    after_hourly_usd: float | None
    hours_before: float
    hours_after: float


class RealisedSavingsOut(BaseModel):
    """Applied changes, newest first, and how the measurement is made."""

    method: str
    items: list[RealisedSavingOut]
