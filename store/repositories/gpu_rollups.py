"""GPU duty cycle and GPU holders read from the hourly rollups, for idle-GPU detection."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.tables import CostAllocationRow, CostNodeHourRow


@dataclass(frozen=True, slots=True)
class NodeDutyRow:
    """One GPU node's measured hour: duty cycle (None without DCGM data), GPUs and cost."""

    cluster_id: uuid.UUID
    node: str
    hour: datetime
    duty: float | None
    gpus: float
    cost_usd: float
    seconds: float


@dataclass(frozen=True, slots=True)
class GpuHolder:
    """A workload holding GPUs on one node over a range."""

    namespace: str
    workload: str
    labels: dict[str, str]
    gpu_usd: float
    seconds: float


async def node_duty_hours(
    session: AsyncSession, tenant_id: uuid.UUID, *, start: datetime, end: datetime
) -> list[NodeDutyRow]:
    """Every GPU node's hours in the range, oldest first."""
    n = CostNodeHourRow
    rows = await session.execute(
        select(
            n.cluster_id,
            n.node,
            n.hour,
            n.gpu_duty_seconds / func.nullif(n.duty_sampled_seconds, 0),
            n.gpus,
            n.total_usd,
            n.seconds,
        )
        .where(n.tenant_id == tenant_id, n.hour >= start, n.hour < end, n.gpus > 0)
        .order_by(n.hour)
    )
    return [NodeDutyRow(*row) for row in rows.all()]


async def gpu_holders(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    cluster_id: uuid.UUID,
    node: str,
    *,
    start: datetime,
    end: datetime,
) -> list[GpuHolder]:
    """Workloads that held GPUs on `node` in the range, most GPU cost first."""
    a = CostAllocationRow
    rows = await session.execute(
        select(
            a.namespace,
            a.workload,
            func.max(a.labels.cast(String)),
            func.sum(a.gpu_usd),
            func.max(a.seconds),
        )
        .where(
            a.tenant_id == tenant_id,
            a.cluster_id == cluster_id,
            a.node == node,
            a.hour >= start,
            a.hour < end,
            a.gpu_seconds > 0,
        )
        .group_by(a.namespace, a.workload)
        .order_by(func.sum(a.gpu_usd).desc())
    )
    return [
        GpuHolder(namespace, workload, json.loads(labels or "{}"), gpu, seconds)
        for namespace, workload, labels, gpu, seconds in rows.all()
    ]
