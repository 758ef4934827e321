"""Which open recommendations are alternatives, and the savings counted once per group.

The analysis stores each recommendation's group key by fingerprint (the fingerprint survives
re-analyses, so does the grouping). The headline counts, per cluster and group, the monthly
saving of the alternative with the highest expected saving (saving x confidence) among those
whose saving is direct; savings realised only when nodes are removed count through the
consolidation in their group, never on their own. A recommendation without a stored group is a
group of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, Float, String, and_, case, cast, delete, func, select
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession

from store.errors import NotFoundError
from store.tables import Cluster, RecommendationRecord, SavingGroupRow


class SavingGroupRepository:
    """Replace and read the session tenant's saving groups."""

    def __init__(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        self._session = session
        self._tenant_id = tenant_id

    async def replace(self, cluster_id: uuid.UUID, groups: Mapping[str, str]) -> None:
        """The cluster's groups become `groups` (fingerprint -> group key)."""
        if await self._session.get(Cluster, cluster_id) is None:
            raise NotFoundError(f"cluster {cluster_id} not found")
        await self._session.execute(
            delete(SavingGroupRow).where(SavingGroupRow.cluster_id == cluster_id)
        )
        if groups:
            await self._session.execute(
                insert(SavingGroupRow).values(
                    [
                        {
                            "tenant_id": self._tenant_id,
                            "cluster_id": cluster_id,
                            "fingerprint": fingerprint,
                            "group_key": key,
                        }
                        for fingerprint, key in groups.items()
                    ]
                )
            )

    async def groups(self, cluster_id: uuid.UUID) -> dict[str, str]:
        """Fingerprint -> group key of the cluster."""
        rows = await self._session.execute(
            select(SavingGroupRow.fingerprint, SavingGroupRow.group_key).where(
                SavingGroupRow.cluster_id == cluster_id
            )
        )
        return {str(fingerprint): str(key) for fingerprint, key in rows.all()}


def expected_saving() -> ColumnElement[float]:
    """Monthly saving times the recommendation's confidence (1 when it states none)."""
    rec = RecommendationRecord
    confidence = func.coalesce(cast(rec.body["confidence"].astext, Float), 1.0)
    return rec.monthly_saving_usd * confidence


def direct_saving() -> ColumnElement[bool]:
    """Whether the recommendation's saving is realised by the change itself (`saving_basis`)."""
    basis = RecommendationRecord.body["saving_basis"].astext
    return func.coalesce(basis, "direct") == "direct"


def group_key() -> ColumnElement[str]:
    """The stored group of a recommendation, or its own id when it has none."""
    rec = RecommendationRecord
    return func.coalesce(SavingGroupRow.group_key, "recommendation:" + cast(rec.id, String))


def counted_savings(live: ColumnElement[bool]) -> Any:
    """Subquery: per cluster, the best direct alternative's saving of each group of `live` ones."""
    rec, group = RecommendationRecord, SavingGroupRow
    key = group_key()
    direct = direct_saving()
    best = (
        select(
            rec.cluster_id.label("cluster_id"),
            case((direct, rec.monthly_saving_usd), else_=0.0).label("saving"),
        )
        .outerjoin(
            group, and_(group.cluster_id == rec.cluster_id, group.fingerprint == rec.fingerprint)
        )
        .where(live)
        .ext(distinct_on(rec.cluster_id, key))
        .order_by(
            rec.cluster_id,
            key,
            direct.desc(),
            expected_saving().desc(),
            rec.monthly_saving_usd.desc(),
        )
        .subquery()
    )
    return (
        select(best.c.cluster_id, func.sum(best.c.saving).label("saving"))
        .group_by(best.c.cluster_id)
        .subquery()
    )
