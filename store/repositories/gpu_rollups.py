"""The GPUs each workload held per node and hour, with their duty cycle, from the hourly rollups.

Idle-GPU detection reads these: a container's duty cycle is the one DCGM attributed to its own
devices where the agent reported it, else its node's mean over the hour.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.tables import CostAllocationRow, CostNodeHourRow


@dataclass(frozen=True, slots=True)
class WorkloadGpuRow:
    """One workload's GPUs on one node in one hour: held, covered seconds, cost and duty."""

    cluster_id: uuid.UUID
    namespace: str
    workload: str
    node: str
    hour: datetime
    gpu_seconds: float
    seconds: float
    gpu_usd: float
    duty: float | None
    """GPU-weighted duty cycle; None when any of its containers had no measurement."""
    labels: dict[str, str]


async def workload_gpu_hours(
    session: AsyncSession, tenant_id: uuid.UUID, *, start: datetime, end: datetime
) -> list[WorkloadGpuRow]:
    """Every workload holding GPUs in the range, per node and hour, oldest first."""
    a = CostAllocationRow
    n = CostNodeHourRow
    duty = func.coalesce(
        a.gpu_duty_seconds / func.nullif(a.duty_sampled_seconds, 0),
        n.gpu_duty_seconds / func.nullif(n.duty_sampled_seconds, 0),
    )
    weighted = case(
        (func.bool_and(duty.is_not(None)), func.sum(duty * a.gpu_seconds) / func.sum(a.gpu_seconds))
    )
    rows = await session.execute(
        select(
            a.cluster_id,
            a.namespace,
            a.workload,
            a.node,
            a.hour,
            func.sum(a.gpu_seconds),
            func.max(a.seconds),
            func.sum(a.gpu_usd),
            weighted,
            func.max(a.labels.cast(String)),
        )
        .join(
            n,
            and_(
                n.tenant_id == a.tenant_id,
                n.cluster_id == a.cluster_id,
                n.hour == a.hour,
                n.node == a.node,
            ),
            isouter=True,
        )
        .where(a.tenant_id == tenant_id, a.hour >= start, a.hour < end, a.gpu_seconds > 0)
        .group_by(a.cluster_id, a.namespace, a.workload, a.node, a.hour)
        .order_by(a.hour)
    )
    return [
        WorkloadGpuRow(c, ns, workload, node, hour, held, seconds, usd, d, json.loads(lab or "{}"))
        for c, ns, workload, node, hour, held, seconds, usd, d, lab in rows.all()
    ]
