"""Read-side queries of the console: clusters overview, filtered recommendations, instructions.

Everything here reads through the session's tenant (row-level security), so a query that forgot
a tenant filter still sees only the signed-in tenant's rows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    func,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from store.errors import NotFoundError
from store.repositories.console_paging import Page, PageRequest
from store.repositories.saving_groups import counted_savings, expected_saving
from store.tables import Cluster, ClusterCost, RecommendationRecord, SavingGroupRow, UsageState

HEALTHY_WITHIN = timedelta(minutes=5)
"""An agent is healthy if its last snapshot was taken at most this long ago."""


class RecommendationSort(StrEnum):
    """Orders the recommendations list can be sorted by."""

    EXPECTED_DESC = "-expected"
    """Monthly saving times confidence, largest first: the default ranking."""
    SAVING_DESC = "-saving"
    SAVING_ASC = "saving"
    NEWEST = "-created"
    OLDEST = "created"
    RISK_DESC = "-risk"
    RISK_ASC = "risk"
    CLUSTER = "cluster"
    KIND = "kind"


@dataclass(frozen=True)
class RecommendationFilter:
    """Which recommendations to list; None leaves a criterion out."""

    cluster_id: uuid.UUID | None = None
    kind: str | None = None
    status: str | None = None
    """`open` also matches snoozed ones whose snooze has run out; `snoozed` only live snoozes."""
    min_saving_usd: float | None = None
    search: str | None = None
    """Case-insensitive substring of the title or the target."""
    sort: RecommendationSort = RecommendationSort.EXPECTED_DESC


@dataclass(frozen=True)
class RecommendationSummary:
    """One row of the recommendations list."""

    id: uuid.UUID
    cluster_id: uuid.UUID
    cluster_name: str
    kind: str
    status: str
    """The effective status: a snooze that has run out reads as `open`."""
    monthly_saving_usd: float
    title: str
    risk: str
    target: str
    created_at: datetime
    updated_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    snoozed_until: datetime | None
    confidence: float = 1.0
    saving_basis: str = "direct"
    """`direct`, or `node_removal` when the saving needs nodes removed (see `saving_groups`)."""
    group_key: str | None = None
    """The group of alternatives the recommendation belongs to (None: a group of its own)."""

    @property
    def expected_saving_usd(self) -> float:
        """Monthly saving times confidence: what the list ranks by and the headline picks by."""
        return self.monthly_saving_usd * self.confidence


@dataclass(frozen=True)
class RecommendationDetail:
    """One recommendation with its full stored body and decision."""

    summary: RecommendationSummary
    body: dict[str, Any]
    decision_comment: str | None


@dataclass(frozen=True)
class ClusterOverview:
    """One cluster with agent health, spend and open savings."""

    id: uuid.UUID
    name: str
    provider: str
    region: str | None
    last_snapshot_at: datetime | None
    agent_version: str | None
    healthy: bool
    open_count: int
    open_saving_usd: float
    monthly_cost_usd: float | None
    """From the newest priced analysis; None until one ran."""
    node_count: int | None


@dataclass(frozen=True)
class TenantTotals:
    """Headline figures over every cluster of the tenant."""

    cluster_count: int
    healthy_count: int
    monthly_cost_usd: float
    open_count: int
    open_saving_usd: float


@dataclass(frozen=True)
class UsageStateDocument:
    """The stored usage state of one container of a workload."""

    container: str
    state: bytes
    """Serialised histograms and counters, exactly as the ingest workers stored them."""
    sample_count: int
    first_sample_at: datetime
    last_sample_at: datetime


def _live_open(now: datetime) -> ColumnElement[bool]:
    rec = RecommendationRecord
    return or_(
        rec.status == "open",
        and_(rec.status == "snoozed", or_(rec.snoozed_until.is_(None), rec.snoozed_until <= now)),
    )


def _status_clause(status: str, now: datetime) -> ColumnElement[bool]:
    rec = RecommendationRecord
    if status == "open":
        return _live_open(now)
    if status == "snoozed":
        return and_(rec.status == "snoozed", rec.snoozed_until > now)
    return rec.status == status


_RISK_RANK = case(
    (RecommendationRecord.body["risk"].astext == "low", 0),
    (RecommendationRecord.body["risk"].astext == "medium", 1),
    (RecommendationRecord.body["risk"].astext == "high", 2),
    else_=3,
)


def _order(sort: RecommendationSort) -> list[Any]:
    rec = RecommendationRecord
    by_saving = rec.monthly_saving_usd.desc()
    orders: dict[RecommendationSort, list[Any]] = {
        RecommendationSort.EXPECTED_DESC: [expected_saving().desc(), by_saving],
        RecommendationSort.SAVING_DESC: [by_saving],
        RecommendationSort.SAVING_ASC: [rec.monthly_saving_usd.asc()],
        RecommendationSort.NEWEST: [rec.created_at.desc()],
        RecommendationSort.OLDEST: [rec.created_at.asc()],
        RecommendationSort.RISK_DESC: [_RISK_RANK.desc(), by_saving],
        RecommendationSort.RISK_ASC: [_RISK_RANK.asc(), by_saving],
        RecommendationSort.CLUSTER: [Cluster.name, by_saving],
        RecommendationSort.KIND: [rec.kind, by_saving],
    }
    # The id breaks ties, so that paging never shows a row twice or skips one.
    return [*orders[sort], rec.id]


def _target(body: dict[str, Any]) -> str:
    workload = body.get("workload")
    if isinstance(workload, dict):
        return f"{workload.get('kind')} {workload.get('namespace')}/{workload.get('name')}"
    node = body.get("node")
    return f"Node {node}" if isinstance(node, str) else ""


def _summary(
    row: RecommendationRecord, cluster_name: str, now: datetime, group: str | None = None
) -> RecommendationSummary:
    status = row.status
    if status == "snoozed" and (row.snoozed_until is None or row.snoozed_until <= now):
        status = "open"
    body = row.body
    return RecommendationSummary(
        id=row.id,
        cluster_id=row.cluster_id,
        cluster_name=cluster_name,
        kind=row.kind,
        status=status,
        monthly_saving_usd=row.monthly_saving_usd,
        title=str(body.get("title", "")),
        risk=str(body.get("risk", "")),
        target=_target(body),
        created_at=row.created_at,
        updated_at=row.updated_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        snoozed_until=row.snoozed_until if status == "snoozed" else None,
        confidence=_number(body.get("confidence"), 1.0),
        saving_basis=str(body.get("saving_basis") or "direct"),
        group_key=group,
    )


def _number(value: object, default: float) -> float:
    return (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default
    )


def _grouped(query: Any) -> Any:
    """`query` over recommendations, joined to their stored saving group where they have one."""
    rec, group = RecommendationRecord, SavingGroupRow
    return query.outerjoin(
        group, and_(group.cluster_id == rec.cluster_id, group.fingerprint == rec.fingerprint)
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class ConsoleQueries:
    """Read the session tenant's data the way the console shows it."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def recommendations(
        self, criteria: RecommendationFilter, page: PageRequest, *, now: datetime
    ) -> Page[RecommendationSummary]:
        """One page of recommendations matching `criteria`, in the requested order."""
        rec = RecommendationRecord
        conditions: list[ColumnElement[bool]] = []
        if criteria.cluster_id is not None:
            conditions.append(rec.cluster_id == criteria.cluster_id)
        if criteria.kind:
            conditions.append(rec.kind == criteria.kind)
        if criteria.status:
            conditions.append(_status_clause(criteria.status, now))
        if criteria.min_saving_usd is not None:
            conditions.append(rec.monthly_saving_usd >= criteria.min_saving_usd)
        if criteria.search:
            pattern = f"%{_escape_like(criteria.search)}%"
            conditions.append(
                or_(
                    rec.body["title"].astext.ilike(pattern, escape="\\"),
                    rec.fingerprint.ilike(pattern, escape="\\"),
                )
            )
        total = await self._session.scalar(select(func.count()).select_from(rec).where(*conditions))
        query = (
            _grouped(
                select(rec, Cluster.name, SavingGroupRow.group_key).join(
                    Cluster, Cluster.id == rec.cluster_id
                )
            )
            .where(*conditions)
            .order_by(*_order(criteria.sort))
            .offset(page.offset)
            .limit(page.size)
        )
        rows = await self._session.execute(query)
        items = [_summary(row, name, now, group) for row, name, group in rows]
        return Page(items, int(total or 0), page.page, page.size)

    async def recommendation(
        self, recommendation_id: uuid.UUID, *, now: datetime
    ) -> RecommendationDetail:
        """One recommendation; NotFoundError if absent or another tenant's."""
        found = (
            await self._session.execute(
                _grouped(
                    select(RecommendationRecord, Cluster.name, SavingGroupRow.group_key).join(
                        Cluster, Cluster.id == RecommendationRecord.cluster_id
                    )
                ).where(RecommendationRecord.id == recommendation_id)
            )
        ).one_or_none()
        if found is None:
            raise NotFoundError(f"recommendation {recommendation_id} not found")
        row, name, group = found
        return RecommendationDetail(
            _summary(row, name, now, group), dict(row.body), row.decision_comment
        )

    async def alternatives(
        self, summary: RecommendationSummary, *, now: datetime
    ) -> list[RecommendationSummary]:
        """The other open recommendations of the same group, by expected saving."""
        if summary.group_key is None:
            return []
        rec = RecommendationRecord
        rows = await self._session.execute(
            _grouped(
                select(rec, Cluster.name, SavingGroupRow.group_key).join(
                    Cluster, Cluster.id == rec.cluster_id
                )
            )
            .where(
                rec.cluster_id == summary.cluster_id,
                SavingGroupRow.group_key == summary.group_key,
                rec.id != summary.id,
                _live_open(now),
            )
            .order_by(*_order(RecommendationSort.EXPECTED_DESC))
        )
        return [_summary(row, name, now, group) for row, name, group in rows]

    async def clusters(self, page: PageRequest, *, now: datetime) -> Page[ClusterOverview]:
        """One page of the tenant's clusters by name, with health, spend and open savings."""
        total = await self._session.scalar(select(func.count()).select_from(Cluster))
        open_stats = self._open_stats(now)
        counted = counted_savings(_live_open(now))
        costs = self._latest_costs()
        query = (
            select(
                Cluster,
                func.coalesce(open_stats.c.count, 0),
                func.coalesce(counted.c.saving, 0),
                costs.c.monthly_cost_usd,
                costs.c.node_count,
            )
            .outerjoin(open_stats, open_stats.c.cluster_id == Cluster.id)
            .outerjoin(counted, counted.c.cluster_id == Cluster.id)
            .outerjoin(costs, costs.c.cluster_id == Cluster.id)
            .order_by(Cluster.name, Cluster.id)
            .offset(page.offset)
            .limit(page.size)
        )
        items = [
            ClusterOverview(
                id=cluster.id,
                name=cluster.name,
                provider=cluster.provider,
                region=cluster.region,
                last_snapshot_at=cluster.last_snapshot_at,
                agent_version=cluster.agent_version,
                healthy=_healthy(cluster.last_snapshot_at, now),
                open_count=int(count),
                open_saving_usd=float(saving),
                monthly_cost_usd=None if cost is None else float(cost),
                node_count=None if nodes is None else int(nodes),
            )
            for cluster, count, saving, cost, nodes in (await self._session.execute(query))
        ]
        return Page(items, int(total or 0), page.page, page.size)

    async def cluster_names(self) -> list[tuple[uuid.UUID, str]]:
        """(id, name) of every cluster, by name, for filter menus."""
        rows = await self._session.execute(select(Cluster.id, Cluster.name).order_by(Cluster.name))
        return [(cluster_id, name) for cluster_id, name in rows]

    async def totals(self, *, now: datetime) -> TenantTotals:
        """Cluster count, healthy agents, spend and open savings over the whole tenant."""
        clusters, healthy = (
            await self._session.execute(
                select(
                    func.count(),
                    func.count().filter(Cluster.last_snapshot_at >= now - HEALTHY_WITHIN),
                ).select_from(Cluster)
            )
        ).one()
        costs = self._latest_costs()
        spend = await self._session.scalar(
            select(func.coalesce(func.sum(costs.c.monthly_cost_usd), 0))
        )
        open_count = await self._session.scalar(
            select(func.count()).select_from(RecommendationRecord).where(_live_open(now))
        )
        # Alternatives on one workload or node are counted once, at the best expected saving.
        counted = counted_savings(_live_open(now))
        open_saving = await self._session.scalar(
            select(func.coalesce(func.sum(counted.c.saving), 0))
        )
        return TenantTotals(
            int(clusters),
            int(healthy),
            float(spend or 0),
            int(open_count or 0),
            float(open_saving or 0),
        )

    async def workload_usage(
        self, cluster_id: uuid.UUID, namespace: str, kind: str, name: str
    ) -> list[UsageStateDocument]:
        """The stored usage state of every container of one workload, by container name."""
        rows = await self._session.execute(
            select(UsageState)
            .where(
                UsageState.cluster_id == cluster_id,
                UsageState.namespace == namespace,
                UsageState.workload_kind == kind,
                UsageState.workload_name == name,
            )
            .order_by(UsageState.container)
        )
        return [
            UsageStateDocument(
                row.container,
                bytes(row.state),
                row.sample_count,
                row.first_sample_at,
                row.last_sample_at,
            )
            for row in rows.scalars()
        ]

    @staticmethod
    def _open_stats(now: datetime) -> Any:
        rec = RecommendationRecord
        return (
            select(
                rec.cluster_id.label("cluster_id"),
                func.count().label("count"),
                func.sum(rec.monthly_saving_usd).label("saving"),
            )
            .where(_live_open(now))
            .group_by(rec.cluster_id)
            .subquery()
        )

    @staticmethod
    def _latest_costs() -> Any:
        cost = ClusterCost
        return (
            select(cost.cluster_id, cost.monthly_cost_usd, cost.node_count)
            .ext(distinct_on(cost.cluster_id))
            .order_by(cost.cluster_id, cost.computed_at.desc())
            .subquery()
        )


def _healthy(last_snapshot_at: datetime | None, now: datetime) -> bool:
    return last_snapshot_at is not None and now - last_snapshot_at <= HEALTHY_WITHIN
