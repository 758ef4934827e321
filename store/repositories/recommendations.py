"""Recommendations of a cluster: open ones are replaced by each analysis, decided ones are kept."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from store.errors import ConflictError, NotFoundError
from store.tables import RecommendationRecord


class RecommendationStatus(StrEnum):
    """Where a recommendation stands."""

    OPEN = "open"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"
    """A later analysis no longer produced it."""
    SNOOZED = "snoozed"
    """Set aside by a person until `snoozed_until`."""
    APPLIED = "applied"
    """Its instruction was applied by the executor."""
    FAILED = "failed"
    """Its instruction failed (and was rolled back) in the cluster."""
    EXPIRED = "expired"
    """Its `expires_at` (a spot evacuation's notice deadline) passed before it was approved."""


@dataclass(frozen=True)
class NewRecommendation:
    """A recommendation to store; `body` is the wire model as JSON."""

    id: uuid.UUID
    kind: str
    fingerprint: str
    monthly_saving_usd: float
    body: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class RecommendationView:
    """One stored recommendation and its decision."""

    id: uuid.UUID
    cluster_id: uuid.UUID
    kind: str
    status: RecommendationStatus
    fingerprint: str
    monthly_saving_usd: float
    body: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    decided_by: str | None
    decided_at: datetime | None


@dataclass(frozen=True)
class ReplaceOutcome:
    """Ids of the open recommendations an analysis created, updated and superseded."""

    created: list[uuid.UUID] = field(default_factory=list)
    updated: list[uuid.UUID] = field(default_factory=list)
    superseded: list[uuid.UUID] = field(default_factory=list)


@dataclass(frozen=True)
class OpenSummary:
    """Open recommendations of one cluster, for digests."""

    cluster_id: uuid.UUID
    count: int
    monthly_saving_usd: float


def _view(row: RecommendationRecord) -> RecommendationView:
    return RecommendationView(
        row.id,
        row.cluster_id,
        row.kind,
        RecommendationStatus(row.status),
        row.fingerprint,
        row.monthly_saving_usd,
        dict(row.body),
        row.created_at,
        row.updated_at,
        row.decided_by,
        row.decided_at,
    )


def _body_with_id(body: dict[str, Any], row_id: uuid.UUID) -> dict[str, Any]:
    # The stored body always names the row it lives in, also after an update reused the row.
    return {**body, "recommendation_id": str(row_id)}


class RecommendationRepository:
    """Store, replace, decide and read the session tenant's recommendations."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def create(
        self,
        cluster_id: uuid.UUID,
        item: NewRecommendation,
        *,
        status: RecommendationStatus = RecommendationStatus.OPEN,
    ) -> RecommendationView:
        """Store one recommendation as it is."""
        row = self._row(cluster_id, item, status)
        self._session.add(row)
        await self._session.flush()
        await self._session.refresh(row)
        return _view(row)

    async def replace_open(
        self,
        cluster_id: uuid.UUID,
        items: Sequence[NewRecommendation],
        *,
        now: datetime,
        kinds: Collection[str] | None = None,
    ) -> ReplaceOutcome:
        """Make the cluster's open recommendations (of `kinds`, default all) exactly `items`.

        An open recommendation with an item's fingerprint is updated in place (same id), items
        with a new fingerprint are inserted as open, and open ones no item matches become
        superseded. Approved, rejected and superseded ones, and open ones of other kinds, are
        never touched.
        """
        fingerprints = [item.fingerprint for item in items]
        if len(set(fingerprints)) != len(fingerprints):
            raise ValueError("two recommendations share a fingerprint")
        if kinds is not None and any(item.kind not in kinds for item in items):
            raise ValueError("an item is of a kind this replacement does not cover")
        query = select(RecommendationRecord).where(
            RecommendationRecord.cluster_id == cluster_id,
            RecommendationRecord.status == RecommendationStatus.OPEN.value,
        )
        if kinds is not None:
            query = query.where(RecommendationRecord.kind.in_(list(kinds)))
        rows = await self._session.execute(
            query.order_by(RecommendationRecord.created_at.desc()).with_for_update()
        )
        open_rows: dict[str, RecommendationRecord] = {}
        outcome = ReplaceOutcome()
        for row in rows.scalars():
            if row.fingerprint in open_rows:
                # A duplicate left by a concurrent writer: keep the newest only.
                self._supersede(row, now, outcome)
            else:
                open_rows[row.fingerprint] = row
        taken = await self._taken_ids([item.id for item in items])
        for item in items:
            existing = open_rows.pop(item.fingerprint, None)
            if existing is None:
                if item.id in taken:
                    # Recomputed from an unchanged snapshot after the first one was decided:
                    # the decided row keeps its id, the new open one gets a fresh one.
                    item = replace(item, id=uuid.uuid4())  # noqa: PLW2901 - deliberate rebind
                row = self._row(cluster_id, item, RecommendationStatus.OPEN)
                self._session.add(row)
                outcome.created.append(row.id)
            else:
                existing.kind = item.kind
                existing.monthly_saving_usd = item.monthly_saving_usd
                existing.body = _body_with_id(item.body, existing.id)
                existing.updated_at = now
                outcome.updated.append(existing.id)
        for row in open_rows.values():
            self._supersede(row, now, outcome)
        await self._session.flush()
        return outcome

    async def decide(
        self,
        recommendation_id: uuid.UUID,
        status: RecommendationStatus,
        *,
        decided_by: str,
        now: datetime,
        comment: str | None = None,
    ) -> RecommendationView:
        """Approve or reject an open recommendation; ConflictError if it is no longer open."""
        if status not in {RecommendationStatus.APPROVED, RecommendationStatus.REJECTED}:
            raise ValueError(f"not a decision: {status}")
        row = await self._session.get(RecommendationRecord, recommendation_id, with_for_update=True)
        if row is None:
            raise NotFoundError(f"recommendation {recommendation_id} not found")
        if row.status != RecommendationStatus.OPEN:
            raise ConflictError(f"recommendation {recommendation_id} is {row.status}")
        row.status = status.value
        row.decided_by = decided_by
        row.decided_at = now
        row.decision_comment = comment
        row.updated_at = now
        await self._session.flush()
        return _view(row)

    async def get(self, recommendation_id: uuid.UUID) -> RecommendationView:
        """One recommendation; NotFoundError if absent or another tenant's."""
        row = await self._session.get(RecommendationRecord, recommendation_id)
        if row is None:
            raise NotFoundError(f"recommendation {recommendation_id} not found")
        return _view(row)

    async def open_summary(self) -> list[OpenSummary]:
        """Count and total monthly saving of open recommendations, per cluster."""
        rows = await self._session.execute(
            select(
                RecommendationRecord.cluster_id,
                func.count(),
                func.coalesce(func.sum(RecommendationRecord.monthly_saving_usd), 0),
            )
            .where(RecommendationRecord.status == RecommendationStatus.OPEN.value)
            .group_by(RecommendationRecord.cluster_id)
            .order_by(RecommendationRecord.cluster_id)
        )
        return [
            OpenSummary(cluster_id, int(count), float(total)) for cluster_id, count, total in rows
        ]

    async def list(
        self, cluster_id: uuid.UUID, *, status: RecommendationStatus | None = None
    ) -> list[RecommendationView]:
        """The cluster's recommendations (optionally of one status), largest saving first."""
        query = select(RecommendationRecord).where(RecommendationRecord.cluster_id == cluster_id)
        if status is not None:
            query = query.where(RecommendationRecord.status == status.value)
        query = query.order_by(
            RecommendationRecord.monthly_saving_usd.desc(), RecommendationRecord.fingerprint
        )
        rows = await self._session.execute(query)
        return [_view(row) for row in rows.scalars()]

    async def _taken_ids(self, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        if not ids:
            return set()
        rows = await self._session.execute(
            select(RecommendationRecord.id).where(RecommendationRecord.id.in_(list(ids)))
        )
        return set(rows.scalars())

    def _row(
        self, cluster_id: uuid.UUID, item: NewRecommendation, status: RecommendationStatus
    ) -> RecommendationRecord:
        return RecommendationRecord(
            id=item.id,
            tenant_id=self._tenant_id,
            cluster_id=cluster_id,
            kind=item.kind,
            status=status.value,
            fingerprint=item.fingerprint,
            monthly_saving_usd=item.monthly_saving_usd,
            body=_body_with_id(item.body, item.id),
            created_at=item.created_at,
            updated_at=item.created_at,
        )

    @staticmethod
    def _supersede(row: RecommendationRecord, now: datetime, outcome: ReplaceOutcome) -> None:
        row.status = RecommendationStatus.SUPERSEDED.value
        row.updated_at = now
        outcome.superseded.append(row.id)
