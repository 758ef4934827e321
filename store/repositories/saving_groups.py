"""Which open recommendations are alternatives, and the savings counted once per group.

The analysis stores each recommendation's group key by fingerprint (the fingerprint survives
re-analyses, so does the grouping). The headline counts, per cluster and group, one option: the
group's sequence of drains (consolidations planned one after another on the cluster the request cuts
and earlier drains leave, so their savings add up) or one other alternative whose saving is direct,
whichever has the higher expected saving (saving x confidence, a sequence's the least of its steps',
the request cuts it assumed included; a tie goes to the sequence), as
`recommender.savings.alternatives` decides. Savings realised only when nodes are removed count
through the drains in their group, never on their own. A recommendation without a stored group is a
group of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, Float, String, and_, case, cast, delete, func, or_, select
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession

from store.errors import NotFoundError
from store.tables import Cluster, RecommendationRecord, SavingGroupRow

CONSOLIDATION = "consolidation"
"""The kind whose drains form a group's sequence (`RecommendationKind.CONSOLIDATION`)."""


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


def confidence() -> ColumnElement[float]:
    """The recommendation's confidence (1 when it states none)."""
    return func.coalesce(cast(RecommendationRecord.body["confidence"].astext, Float), 1.0)


def expected_saving() -> ColumnElement[float]:
    """Monthly saving times the recommendation's confidence."""
    return RecommendationRecord.monthly_saving_usd * confidence()


def direct_saving() -> ColumnElement[bool]:
    """Whether the recommendation's saving is realised by the change itself (`saving_basis`)."""
    basis = RecommendationRecord.body["saving_basis"].astext
    return func.coalesce(basis, "direct") == "direct"


def group_key() -> ColumnElement[str]:
    """The stored group of a recommendation, or its own id when it has none."""
    rec = RecommendationRecord
    return func.coalesce(SavingGroupRow.group_key, "recommendation:" + cast(rec.id, String))


def counted_savings(live: ColumnElement[bool]) -> Any:
    """Subquery: per cluster, the sum over groups of `live` recommendations of what each counts."""
    rec, group = RecommendationRecord, SavingGroupRow
    key = group_key()
    direct = direct_saving()
    drain = rec.kind == CONSOLIDATION
    joined = and_(group.cluster_id == rec.cluster_id, group.fingerprint == rec.fingerprint)
    alt = (
        select(
            rec.cluster_id.label("cluster_id"),
            key.label("key"),
            rec.monthly_saving_usd.label("saving"),
            expected_saving().label("expected"),
        )
        .outerjoin(group, joined)
        .where(live, direct, ~drain)
        .ext(distinct_on(rec.cluster_id, key))
        .order_by(rec.cluster_id, key, expected_saving().desc(), rec.monthly_saving_usd.desc())
        .subquery()
    )
    drained = func.sum(case((and_(drain, direct), rec.monthly_saving_usd), else_=0.0))
    seq = (
        select(
            rec.cluster_id.label("cluster_id"),
            key.label("key"),
            drained.label("saving"),
            (drained * func.min(confidence())).label("expected"),
        )
        .outerjoin(group, joined)
        .where(live, or_(drain, ~direct))
        .group_by(rec.cluster_id, key)
        .having(func.bool_or(drain))
        .subquery()
    )
    sequence_wins = or_(
        alt.c.expected.is_(None),
        seq.c.expected > alt.c.expected,
        and_(seq.c.expected == alt.c.expected, seq.c.saving >= alt.c.saving),
    )
    counted = case(
        (and_(seq.c.expected.is_not(None), sequence_wins), seq.c.saving),
        else_=func.coalesce(alt.c.saving, 0.0),
    )
    per_group = (
        select(
            func.coalesce(seq.c.cluster_id, alt.c.cluster_id).label("cluster_id"),
            counted.label("saving"),
        )
        .select_from(seq)
        .join(alt, and_(alt.c.cluster_id == seq.c.cluster_id, alt.c.key == seq.c.key), full=True)
        .subquery()
    )
    return (
        select(per_group.c.cluster_id, func.sum(per_group.c.saving).label("saving"))
        .group_by(per_group.c.cluster_id)
        .subquery()
    )
