"""The cost allocation report the console API and the cost page share: filter, group, sort, page.

Reads the hourly rollups of one time range, groups them by one dimension, sorts and pages the
groups, and adds the range's node cost and idle cost, so the groups plus idle add up to what the
nodes cost. CSV rendering neutralises cells a spreadsheet would run as formulas.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args

from sqlalchemy.ext.asyncio import AsyncSession

from store.repositories.console_savings import CostPoint
from store.repositories.cost_rollups import (
    GROUP_BYS,
    CostFilter,
    CostGroup,
    CostRollupRepository,
    NodeGpuUse,
    SpendPoint,
)

HOURS_PER_MONTH = 730.0
MAX_RANGE = timedelta(days=92)
SortKey = Literal["total", "cpu", "memory", "gpu", "gpu_usage", "gpu_hours", "key"]
SORT_KEYS: tuple[SortKey, ...] = get_args(SortKey)
_LABEL_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,316}$")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class CostQueryError(ValueError):
    """A cost query names an unknown grouping, a bad label or an impossible time range."""


@dataclass(frozen=True)
class CostQuery:
    """What a reader asked for."""

    start: datetime
    end: datetime
    group_by: str = "namespace"
    cluster_id: uuid.UUID | None = None
    namespace: str | None = None
    label: tuple[str, str] | None = None
    sort: SortKey = "total"
    descending: bool = True
    share_idle: bool = False
    """Share the idle cost over the groups in proportion to what each pays (else shown apart)."""

    def validate(self) -> CostQuery:
        """This query, if it can be answered; else a `CostQueryError` saying why not."""
        if self.end <= self.start:
            raise CostQueryError("end must be after start")
        if self.end - self.start > MAX_RANGE:
            raise CostQueryError("the range may span at most 92 days")
        grouping = self.group_by
        if grouping.startswith("label:"):
            if not _LABEL_KEY.match(grouping.removeprefix("label:")):
                raise CostQueryError("group_by label:<key> needs a label key")
        elif grouping not in GROUP_BYS:
            raise CostQueryError(f"group_by must be one of {', '.join(GROUP_BYS)} or label:<key>")
        return self

    @property
    def filter(self) -> CostFilter:
        """The rollup filter of this query."""
        return CostFilter(self.start, self.end, self.cluster_id, self.namespace, self.label)


def parse_label(text: str | None) -> tuple[str, str] | None:
    """`key=value` as a pair; None for nothing; `CostQueryError` for anything else."""
    if not text:
        return None
    key, sep, value = text.partition("=")
    if not sep or not _LABEL_KEY.match(key):
        raise CostQueryError("label must be key=value")
    return key, value


@dataclass(frozen=True)
class CostGroups:
    """Every group of a query, sorted, with the range's node cost and idle cost."""

    groups: list[CostGroup]
    node_cost_usd: float
    idle_usd: float
    idle_per_allocated: float
    """Idle cost per dollar allocated over the whole range (every namespace and label)."""
    share_idle: bool

    def idle_share(self, group: CostGroup) -> float:
        """The group's share of idle cost when idle is shared, else 0."""
        return group.total_usd * self.idle_per_allocated if self.share_idle else 0.0


@dataclass(frozen=True)
class CostReport:
    """One page of groups, with the range's totals."""

    query: CostQuery
    groups: list[CostGroup]
    total_groups: int
    page: int
    size: int
    allocated_usd: float
    node_cost_usd: float
    idle_usd: float
    found: CostGroups

    @property
    def pages(self) -> int:
        """Pages of `size` groups."""
        return max(1, -(-self.total_groups // self.size))


def _sort_value(group: CostGroup, key: str) -> float | str:
    return {
        "total": group.total_usd,
        "cpu": group.cpu_usd,
        "memory": group.memory_usd,
        "gpu": group.gpu_usd,
        "gpu_usage": group.gpu_usage_usd,
        "gpu_hours": group.gpu_hours,
    }.get(key, group.key)


def sort_groups(groups: Sequence[CostGroup], key: str, *, descending: bool) -> list[CostGroup]:
    """Groups ordered by one figure (ties by name)."""
    ordered = sorted(groups, key=lambda g: g.key)
    return sorted(ordered, key=lambda g: _sort_value(g, key), reverse=descending)


async def cost_groups(session: AsyncSession, tenant_id: uuid.UUID, query: CostQuery) -> CostGroups:
    """Every group of the query, sorted, with the range's node cost and idle cost."""
    rollups = CostRollupRepository(session, tenant_id)
    groups = await rollups.breakdown(query.filter, query.group_by)
    node_cost, idle = await rollups.idle(query.filter)
    whole = CostFilter(query.start, query.end, query.cluster_id)
    allocated = sum(g.total_usd for g in await rollups.breakdown(whole, "cluster"))
    return CostGroups(
        sort_groups(groups, query.sort, descending=query.descending),
        node_cost,
        idle,
        idle / allocated if allocated > 0 else 0.0,
        query.share_idle,
    )


async def cost_report(
    session: AsyncSession, tenant_id: uuid.UUID, query: CostQuery, *, page: int, size: int
) -> CostReport:
    """One page of the query's groups and the range's totals."""
    found = await cost_groups(session, tenant_id, query)
    first = (page - 1) * size
    return CostReport(
        query=query,
        groups=found.groups[first : first + size],
        total_groups=len(found.groups),
        page=page,
        size=size,
        allocated_usd=sum(g.total_usd for g in found.groups),
        node_cost_usd=found.node_cost_usd,
        idle_usd=found.idle_usd,
        found=found,
    )


async def spend_series(
    session: AsyncSession, tenant_id: uuid.UUID, query: CostQuery
) -> list[SpendPoint]:
    """Hourly spend of the query's range (one namespace's containers, or whole nodes)."""
    return await CostRollupRepository(session, tenant_id).spend_series(query.filter)


async def node_gpu_use(
    session: AsyncSession, tenant_id: uuid.UUID, query: CostQuery
) -> list[NodeGpuUse]:
    """Per-node cost, idle and GPU use over the query's range."""
    return await CostRollupRepository(session, tenant_id).node_gpu_use(query.filter)


async def measured_spend_points(
    session: AsyncSession, tenant_id: uuid.UUID, *, start: datetime, end: datetime
) -> list[CostPoint]:
    """Each cluster's monthly run rate from the end of every measured hour in the range."""
    rates = await CostRollupRepository(session, tenant_id).cluster_rates(start, end)
    return [
        CostPoint(r.cluster_id, r.hour + timedelta(hours=1), r.hourly_usd * HOURS_PER_MONTH)
        for r in rates
        if r.hour + timedelta(hours=1) <= end
    ]


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.6f}"
    text = str(value)
    # Names come from the cluster: never let a spreadsheet run one as a formula.
    return "'" + text if text.startswith(_FORMULA_START) else text


def groups_csv(query: CostQuery, found: CostGroups) -> str:
    """The groups as CSV, one row each, costs in USD over the query's range."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(
        [
            query.group_by,
            "cpu_usd",
            "memory_usd",
            "gpu_usd",
            "total_usd",
            "gpu_usage_usd",
            "gpu_hours",
            "idle_share_usd",
            "start",
            "end",
        ]
    )
    for g in found.groups:
        row: list[object] = [
            g.key,
            g.cpu_usd,
            g.memory_usd,
            g.gpu_usd,
            g.total_usd,
            g.gpu_usage_usd,
            g.gpu_hours,
            found.idle_share(g),
            query.start.isoformat(),
            query.end.isoformat(),
        ]
        writer.writerow([_cell(v) for v in row])
    return buffer.getvalue()
