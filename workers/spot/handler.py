"""Handle one spot notice: record it, plan the evacuation, store it, maybe approve it at once.

Everything happens in one tenant transaction, so a notice is either fully handled (notice row,
recommendation, and for auto-approving tenants the instruction) or not at all, and a
redelivered notice finds its row handled and changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from protocol.recommendation import Recommendation
from protocol.topics import SpotNoticeMessage
from recommender.fingerprint import fingerprint
from recommender.spot.evacuation import plan_spot_evacuation
from store.database import Database
from store.errors import NotFoundError
from store.repositories.audit import AuditRepository
from store.repositories.clusters import ClusterRepository
from store.repositories.inventory import InventoryRepository
from store.repositories.recommendations import (
    NewRecommendation,
    RecommendationRepository,
    RecommendationStatus,
)
from store.repositories.spot_notices import SpotNoticeRepository
from store.repositories.tenant_policy import TenantPolicyRepository
from workers.cluster_view import cluster_view
from workers.decode import Record, decode
from workers.errors import UnknownClusterError
from workers.instructions import InstructionIssuer, instruction_body, store_approved_instruction

log = structlog.get_logger(__name__)

PROCESSED = "processed"
DUPLICATE = "duplicate"
AUTO_APPROVER = "policy:auto_spot"


def utc_now() -> datetime:
    """The current time, timezone-aware."""
    return datetime.now(UTC)


class ExecutorWakeup(Protocol):
    """Tells the gateway that an approved instruction awaits a cluster's executor."""

    async def wake(self, cluster_id: uuid.UUID, instruction_id: uuid.UUID) -> None:
        """Announce `instruction_id`; a failure only delays delivery to the next re-check."""
        ...


class SpotNoticeHandler:
    """The record handler of the spot-notice consumer group."""

    def __init__(
        self,
        database: Database,
        issuer: InstructionIssuer | None,
        *,
        instruction_ttl_seconds: float,
        clock: Callable[[], datetime] = utc_now,
        wakeup: ExecutorWakeup | None = None,
    ) -> None:
        """Plan into `database`; auto-approved plans become envelopes through `issuer`, and
        `wakeup` announces them once committed so the executor's long-poll returns at once."""
        self._database = database
        self._issuer = issuer
        self._ttl = instruction_ttl_seconds
        self._clock = clock
        self._wakeup = wakeup

    async def __call__(self, record: Record) -> str:
        """Decode and handle one record; returns "processed" or "duplicate"."""
        return await self.apply(decode(record, SpotNoticeMessage))

    async def apply(self, message: SpotNoticeMessage) -> str:
        """Handle one notice message; returns "processed" or "duplicate"."""
        notice = message.notice
        tenant_id = message.tenant_id
        now = self._clock()
        async with self._database.tenant(tenant_id) as session:
            try:
                cluster = await ClusterRepository(session, tenant_id).get(notice.cluster_id)
            except NotFoundError as e:
                raise UnknownClusterError(
                    f"cluster {notice.cluster_id} is not registered for tenant {tenant_id}"
                ) from e
            notices = SpotNoticeRepository(session, tenant_id)
            stored = await notices.record(
                notice_id=notice.notice_id,
                cluster_id=cluster.id,
                body=notice.model_dump(mode="json"),
                received_at=message.received_at,
            )
            if stored.handled_at is not None:
                return DUPLICATE
            objects = await InventoryRepository(session, tenant_id).list(cluster.id)
            plan = plan_spot_evacuation(cluster_view(cluster, objects), notice, now)
            instruction_id = await self._store(session, message, plan.recommendation, now)
            await notices.mark_handled(
                notice.notice_id,
                handled_at=now,
                recommendation_id=plan.recommendation.recommendation_id,
            )
        if instruction_id is not None and self._wakeup is not None:
            await self._wakeup.wake(cluster.id, instruction_id)
        log.info(
            "spot notice handled",
            tenant_id=str(tenant_id),
            cluster_id=str(cluster.id),
            notice_id=str(notice.notice_id),
            node=notice.node_name,
            pods=len(plan.moves),
            auto_approved=instruction_id is not None,
        )
        return PROCESSED

    async def _store(
        self,
        session: AsyncSession,
        message: SpotNoticeMessage,
        recommendation: Recommendation,
        now: datetime,
    ) -> uuid.UUID | None:
        """Store the recommendation; approve it and issue its instruction if policy allows
        (returns the instruction's id then)."""
        tenant_id = message.tenant_id
        recommendations = RecommendationRepository(session, tenant_id)
        await recommendations.create(
            recommendation.cluster_id,
            NewRecommendation(
                id=recommendation.recommendation_id,
                kind=recommendation.kind.value,
                fingerprint=fingerprint(recommendation),
                monthly_saving_usd=recommendation.monthly_saving_usd,
                body=recommendation.model_dump(mode="json"),
                created_at=now,
            ),
        )
        policy = await TenantPolicyRepository(session, tenant_id).get()
        if not policy.auto_approves_evacuation(recommendation.cluster_id):
            return None
        if recommendation.expires_at is not None and recommendation.expires_at <= now:
            log.warning(
                "spot notice handled after its deadline; the evacuation is not approved",
                tenant_id=str(tenant_id),
                deadline=recommendation.expires_at.isoformat(),
            )
            return None
        if self._issuer is None:
            log.warning(
                "auto spot handling is on but this process cannot sign instructions "
                "(set SLICEWISE_WORKER_KEY_ENCRYPTION_KEY); the evacuation waits for a person",
                tenant_id=str(tenant_id),
            )
            return None
        await recommendations.decide(
            recommendation.recommendation_id,
            RecommendationStatus.APPROVED,
            decided_by=AUTO_APPROVER,
            now=now,
            comment="approved at once: the tenant's policy handles spot notices automatically",
        )
        body = instruction_body(tenant_id, recommendation, now=now, ttl_seconds=self._ttl)
        envelope = await self._issuer.envelope(session, tenant_id, body)
        await store_approved_instruction(session, tenant_id, body, envelope, now=now)
        await AuditRepository(session, tenant_id).append(
            actor=AUTO_APPROVER,
            action="recommendation.approved",
            subject_type="recommendation",
            subject_id=str(recommendation.recommendation_id),
            details={"instruction_id": str(body.instruction_id), "node": recommendation.node},
        )
        return body.instruction_id
