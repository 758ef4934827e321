"""The spot fallback's intake: each notice once, current terminations only, one per node."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lightkube import AsyncClient, KubeConfig

from auth.instruction_signing import generate_signing_key, instruction_body_for, sign_instruction
from executor.audit import AuditTrail
from executor.kube.api import POLICY_V1
from executor.notices.endpoint import Acceptance, AcceptanceStatus
from executor.notices.memory import NoticeMemory
from executor.settings import Mode
from executor.spot_activity import NodeActivity
from executor.spot_fallback import SpotFallback, saas_wait_seconds, withheld_reason
from protocol.changes import ActionType, ChangeSet, Cordon, Drain
from protocol.instruction import Instruction
from protocol.snapshot import Provider
from protocol.spot import NoticeKind, SpotNotice

CLUSTER = uuid.UUID("2b7d4c1e-0f3a-4e6b-8d9c-1a2b3c4d5e6f")
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _notice(
    node: str = "spot-1",
    kind: NoticeKind = NoticeKind.TERMINATION,
    deadline: datetime | None = NOW + timedelta(minutes=2),
) -> SpotNotice:
    return SpotNotice(
        notice_id=uuid.uuid4(),
        cluster_id=CLUSTER,
        provider=Provider.AWS,
        kind=kind,
        node_name=node,
        detected_at=NOW,
        deadline=deadline,
    )


@pytest.fixture
async def unreachable_cluster() -> AsyncIterator[AsyncClient]:
    """A Kubernetes client that is never reached by these tests (nothing listens there)."""
    config = KubeConfig.from_dict(
        {
            "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:9"}}],
            "users": [{"name": "u", "user": {"token": "unused"}}],
            "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
            "current-context": "x",
        }
    )
    client = AsyncClient(config, trust_env=False)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def fallback(unreachable_cluster: AsyncClient, tmp_path: Path) -> SpotFallback:
    """A fallback that waits up to 30 s for the SaaS, on a clock stopped at NOW."""
    return SpotFallback(
        unreachable_cluster,
        POLICY_V1,
        cluster_id=CLUSTER,
        activity=NodeActivity(),
        audit=AuditTrail(tmp_path, lambda: NOW),
        timeout_seconds=30,
        clock=lambda: NOW,
    )


def _evacuation_instruction(node: str) -> Instruction:
    key = generate_signing_key()
    body = instruction_body_for(
        ChangeSet(actions=[Cordon(node=node), Drain(node=node)]),
        tenant_id=uuid.uuid4(),
        cluster_id=CLUSTER,
        issued_at=NOW,
    )
    return sign_instruction(body, key.private_key, key.key_id)


async def test_notice_taken_twice_is_handled_once(fallback: SpotFallback) -> None:
    """The second offer of a notice id is a duplicate; one handling runs and is audited once."""
    notice = _notice()
    first, second = fallback.accept(notice), fallback.accept(notice)
    [task] = fallback.running
    fallback.activity.note(_evacuation_instruction(notice.node_name))

    assert (first, second) == (
        Acceptance(AcceptanceStatus.ACCEPTED),
        Acceptance(AcceptanceStatus.DUPLICATE),
    )
    assert await task is None
    events = [e["event"] for e in fallback.audit.entries()]
    assert events == ["spot-notice-received", "spot-notice-handled-by-saas"]


async def test_rebalance_notice_is_recorded_but_starts_nothing(fallback: SpotFallback) -> None:
    """A rebalance recommendation needs no evacuation."""
    acceptance = fallback.accept(_notice(kind=NoticeKind.REBALANCE, deadline=None))
    assert acceptance == Acceptance(
        AcceptanceStatus.IGNORED, "no evacuation for a rebalance notice"
    )
    assert fallback.running == []
    assert [e["event"] for e in fallback.audit.entries()] == ["spot-notice-received"]


async def test_notice_past_its_deadline_starts_nothing(fallback: SpotFallback) -> None:
    """A notice whose node is already gone is acknowledged and left alone."""
    acceptance = fallback.accept(_notice(deadline=NOW - timedelta(seconds=1)))
    assert acceptance == Acceptance(AcceptanceStatus.IGNORED, "deadline already passed")
    assert fallback.running == []


async def test_second_notice_for_a_node_being_handled_starts_nothing(
    fallback: SpotFallback,
) -> None:
    """Two events for one node (say, a stop then a terminate) start one evacuation."""
    first = fallback.accept(_notice("spot-2"))
    second = fallback.accept(_notice("spot-2"))
    [task] = fallback.running
    fallback.activity.note(_evacuation_instruction("spot-2"))
    await task

    assert first.status is AcceptanceStatus.ACCEPTED
    assert second == Acceptance(AcceptanceStatus.IGNORED, "node already being handled")
    assert fallback.accept(_notice("spot-2")).status is AcceptanceStatus.ACCEPTED
    fallback.activity.note(_evacuation_instruction("spot-2"))
    [again] = fallback.running
    assert await again is None


def test_wait_for_the_saas_keeps_half_the_notice_for_the_drain() -> None:
    """The timeout applies unless half the remaining time is shorter; never negative."""
    assert saas_wait_seconds(30, 120) == 30
    assert saas_wait_seconds(30, 40) == 20
    assert saas_wait_seconds(30, -5) == 0


def test_local_evacuation_is_withheld_in_dry_run_or_without_cordon_and_drain() -> None:
    """The fallback changes the cluster only where the executor may cordon and drain at all."""
    every = list(ActionType)
    assert withheld_reason(Mode.DRY_RUN, every) == "dry-run mode: the executor changes nothing"
    assert withheld_reason(Mode.APPROVE_EACH, [ActionType.SCALE]) == (
        "action type(s) cordon, drain not on this executor's allow-list"
    )
    assert withheld_reason(Mode.AUTO, [ActionType.CORDON]) == (
        "action type(s) drain not on this executor's allow-list"
    )
    assert withheld_reason(Mode.APPROVE_EACH, [ActionType.CORDON, ActionType.DRAIN]) is None


def test_memory_forgets_ids_after_their_time() -> None:
    """An id is a duplicate until its time has passed, then new again."""
    memory = NoticeMemory()
    notice_id = uuid.uuid4()
    until = NOW + timedelta(hours=1)
    assert memory.remember(notice_id, until=until, now=NOW) is True
    assert memory.remember(notice_id, until=until, now=until) is False
    assert memory.remember(notice_id, until=until, now=until + timedelta(seconds=1)) is True


def test_full_memory_drops_the_id_due_to_be_forgotten_soonest() -> None:
    """At capacity the id with the earliest end makes room; the others stay duplicates."""
    memory = NoticeMemory(capacity=2)
    early, late, new = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    memory.remember(late, until=NOW + timedelta(hours=2), now=NOW)
    memory.remember(early, until=NOW + timedelta(hours=1), now=NOW)
    memory.remember(new, until=NOW + timedelta(hours=3), now=NOW)

    assert len(memory) == 2
    assert memory.remember(late, until=NOW + timedelta(hours=2), now=NOW) is False
    assert memory.remember(new, until=NOW + timedelta(hours=3), now=NOW) is False
