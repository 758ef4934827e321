"""Handling spot notices: evacuation recommendations, auto-approval, idempotency."""

from __future__ import annotations

import asyncio
import base64
import uuid
from datetime import timedelta

import pytest
from redis.asyncio import Redis
from sqlalchemy import select

from auth.instruction_signing import InstructionKeyring, generate_signing_key
from devstack.services import ServiceUrls
from protocol.canonical import canonical_json
from protocol.changes import ActionType
from protocol.instruction import Approval
from protocol.topics import instructions_channel
from store.database import Database
from store.repositories.clusters import ClusterView
from store.repositories.instructions import InstructionRepository
from store.repositories.recommendations import RecommendationRepository, RecommendationStatus
from store.repositories.spot_notices import SpotNoticeRepository
from store.repositories.tenant_policy import TenantPolicyRepository
from store.repositories.tenants import TenantRepository, TenantView
from store.tables import InstructionRecord
from tests.unit.workers.factories import T0, shop_snapshot, snapshot_message, spot_notice
from workers.errors import UnknownClusterError
from workers.ingest.handler import SnapshotIngest
from workers.instructions import KeyringInstructionIssuer
from workers.spot.handler import DUPLICATE, PROCESSED, SpotNoticeHandler
from workers.spot.wakeup import RedisExecutorWakeup

NOW = T0 + timedelta(minutes=5)


def _handler(database: Database) -> SpotNoticeHandler:
    return SpotNoticeHandler(database, None, instruction_ttl_seconds=600, clock=lambda: NOW)


def _signing_handler(database: Database) -> SpotNoticeHandler:
    keyring = InstructionKeyring(current=generate_signing_key())
    return SpotNoticeHandler(
        database,
        KeyringInstructionIssuer(lambda: keyring),
        instruction_ttl_seconds=600,
        clock=lambda: NOW,
    )


async def _evacuation_status(
    database: Database, tenant: TenantView, cluster: ClusterView
) -> RecommendationStatus:
    async with database.tenant(tenant.id) as session:
        [rec] = await RecommendationRepository(session, tenant.id).list(cluster.id)
    return rec.status


@pytest.fixture
async def shop(database: Database, tenant: TenantView, cluster: ClusterView) -> ClusterView:
    """The cluster after one snapshot: node-b (spot) runs web0-7d9f-1 and web1-7d9f-1."""
    await SnapshotIngest(database).apply(snapshot_message(tenant.id, shop_snapshot(cluster.id, 1)))
    return cluster


async def test_notice_produces_an_open_evacuation_recommendation(
    database: Database, tenant: TenantView, shop: ClusterView
) -> None:
    """Cordon then drain node-b; both of its pods are listed; the notice points at it."""
    message = spot_notice(tenant.id, shop.id)
    assert await _handler(database).apply(message) == PROCESSED
    async with database.tenant(tenant.id) as session:
        [rec] = await RecommendationRepository(session, tenant.id).list(shop.id)
        notice = await SpotNoticeRepository(session, tenant.id).get(message.notice.notice_id)
    assert rec.kind == "spot-evacuation"
    assert rec.status is RecommendationStatus.OPEN
    actions = rec.body["change_set"]["actions"]
    assert [a["type"] for a in actions] == [ActionType.CORDON, ActionType.DRAIN]
    assert {a["node"] for a in actions} == {"node-b"}
    pods = sorted(p["pod"] for p in rec.body["evidence"]["pods"])
    assert pods == ["shop/web0-7d9f-1", "shop/web1-7d9f-1"]
    assert (notice.recommendation_id, notice.handled_at) == (rec.id, NOW)


async def test_auto_spot_without_signing_keys_waits_for_a_person(
    database: Database, tenant: TenantView, shop: ClusterView
) -> None:
    """With auto_spot on but no way to sign, the plan stays open and no instruction is stored."""
    async with database.tenant(tenant.id) as session:
        await TenantRepository(session).update_settings({"auto_spot": True})
    await _handler(database).apply(spot_notice(tenant.id, shop.id))
    async with database.tenant(tenant.id) as session:
        [rec] = await RecommendationRepository(session, tenant.id).list(shop.id)
        rows = (await session.execute(select(InstructionRecord))).scalars().all()
    assert rec.status is RecommendationStatus.OPEN
    assert rows == []


async def test_keyring_issuer_stores_a_signed_instruction(
    database: Database, tenant: TenantView, shop: ClusterView
) -> None:
    """With a keyring wired in, the stored envelope is an Instruction signed by its key."""
    keyring = InstructionKeyring(current=generate_signing_key())
    async with database.tenant(tenant.id) as session:
        await TenantRepository(session).update_settings({"auto_spot": True})
    handler = SpotNoticeHandler(
        database,
        KeyringInstructionIssuer(lambda: keyring),
        instruction_ttl_seconds=600,
        clock=lambda: NOW,
    )
    await handler.apply(spot_notice(tenant.id, shop.id, at=NOW))
    async with database.tenant(tenant.id) as session:
        [stored] = await InstructionRepository(session, tenant.id).list(cluster_id=shop.id)
    instruction = stored.instruction
    assert instruction.key_id == keyring.current.key_id
    keyring.current.public_key.verify(
        base64.urlsafe_b64decode(instruction.signature + "=="), canonical_json(instruction.body)
    )
    assert [a.type for a in instruction.body.actions] == [ActionType.CORDON, ActionType.DRAIN]
    assert instruction.body.approval is Approval.POLICY
    async with database.tenant(tenant.id) as session:
        [rec] = await RecommendationRepository(session, tenant.id).list(shop.id)
    assert (rec.status, rec.decided_by) == (RecommendationStatus.APPROVED, "policy:auto_spot")


async def test_auto_approved_instruction_expires_at_the_notice_deadline(
    database: Database, tenant: TenantView, shop: ClusterView
) -> None:
    """The two-minute notice cuts the 600 s instruction lifetime to its own deadline."""
    async with database.tenant(tenant.id) as session:
        await TenantRepository(session).update_settings({"auto_spot": True})
    await _signing_handler(database).apply(spot_notice(tenant.id, shop.id, at=NOW))
    async with database.tenant(tenant.id) as session:
        [stored] = await InstructionRepository(session, tenant.id).list(cluster_id=shop.id)
    assert stored.expires_at == NOW + timedelta(minutes=2)


async def test_a_notice_handled_after_its_deadline_is_not_approved(
    database: Database, tenant: TenantView, shop: ClusterView
) -> None:
    """A notice whose deadline passed before it was handled leaves no instruction behind."""
    async with database.tenant(tenant.id) as session:
        await TenantRepository(session).update_settings({"auto_spot": True})
    await _signing_handler(database).apply(
        spot_notice(tenant.id, shop.id, at=NOW - timedelta(minutes=3))
    )
    async with database.tenant(tenant.id) as session:
        rows = (await session.execute(select(InstructionRecord))).scalars().all()
    assert rows == []


async def test_policy_for_this_cluster_approves_its_evacuation(
    database: Database, tenant: TenantView, shop: ClusterView
) -> None:
    """Auto-approval switched on for the noticed cluster alone approves the evacuation."""
    async with database.tenant(tenant.id) as session:
        await TenantPolicyRepository(session, tenant.id).update(
            {"auto_approve_clusters": frozenset({shop.id})}, actor="admin@example.com"
        )
    await _signing_handler(database).apply(spot_notice(tenant.id, shop.id, at=NOW))
    assert await _evacuation_status(database, tenant, shop) is RecommendationStatus.APPROVED


async def test_policy_for_another_cluster_leaves_the_evacuation_open(
    database: Database, tenant: TenantView, shop: ClusterView
) -> None:
    """Auto-approval switched on for a different cluster does not approve this one's."""
    async with database.tenant(tenant.id) as session:
        await TenantPolicyRepository(session, tenant.id).update(
            {"auto_approve_clusters": frozenset({uuid.uuid4()})}, actor="admin@example.com"
        )
    await _signing_handler(database).apply(spot_notice(tenant.id, shop.id, at=NOW))
    assert await _evacuation_status(database, tenant, shop) is RecommendationStatus.OPEN


async def test_redelivered_notice_changes_nothing(
    database: Database, tenant: TenantView, shop: ClusterView
) -> None:
    """The second delivery of one notice is a duplicate and adds no recommendation."""
    message = spot_notice(tenant.id, shop.id)
    handler = _handler(database)
    await handler.apply(message)
    assert await handler.apply(message) == DUPLICATE
    async with database.tenant(tenant.id) as session:
        assert len(await RecommendationRepository(session, tenant.id).list(shop.id)) == 1


async def test_notice_for_unregistered_cluster_is_refused(
    database: Database, tenant: TenantView
) -> None:
    """A notice naming a cluster the tenant does not have is a permanent error."""
    with pytest.raises(UnknownClusterError):
        await _handler(database).apply(spot_notice(tenant.id, uuid.uuid4()))


WAKEUP_WITHIN = 10.0


async def test_policy_approval_wakes_the_executor_long_poll(
    database: Database, tenant: TenantView, shop: ClusterView, services: ServiceUrls
) -> None:
    """The approved instruction's id is published on the cluster's channel after commit."""
    async with database.tenant(tenant.id) as session:
        await TenantRepository(session).update_settings({"auto_spot": True})
    keyring = InstructionKeyring(current=generate_signing_key())
    redis = Redis.from_url(services.redis_url)
    pubsub = redis.pubsub()
    try:
        await pubsub.subscribe(instructions_channel(shop.id))
        handler = SpotNoticeHandler(
            database,
            KeyringInstructionIssuer(lambda: keyring),
            instruction_ttl_seconds=600,
            clock=lambda: NOW,
            wakeup=RedisExecutorWakeup(redis),
        )
        await handler.apply(spot_notice(tenant.id, shop.id, at=NOW))
        message = None
        async with asyncio.timeout(WAKEUP_WITHIN):
            while message is None:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
        async with database.tenant(tenant.id) as session:
            [stored] = await InstructionRepository(session, tenant.id).list(cluster_id=shop.id)
    finally:
        await pubsub.aclose()
        await redis.aclose()
    assert message["data"].decode() == str(stored.id)
