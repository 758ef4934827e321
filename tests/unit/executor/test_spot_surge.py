"""Which scale actions of an evacuation instruction are surges to scale back."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from pydantic import JsonValue

from auth.instruction_signing import InstructionKeyring, generate_signing_key, instruction_body_for
from executor.planning.targets import ObjectRef
from executor.spot_surge import Surge, surges_in
from protocol.changes import Action, ChangeSet, Cordon, Drain, Precondition, Scale, WorkloadRef
from protocol.instruction import Instruction
from protocol.snapshot import WorkloadKind

WEB = WorkloadRef(kind=WorkloadKind.DEPLOYMENT, namespace="shop", name="web")


def _instruction(actions: Sequence[Action]) -> Instruction:
    body = instruction_body_for(
        ChangeSet(actions=list(actions)),
        tenant_id=uuid.uuid4(),
        cluster_id=uuid.uuid4(),
        issued_at=datetime.now(UTC),
        ttl=timedelta(minutes=2),
    )
    return InstructionKeyring(generate_signing_key()).sign(body)


def _scale(replicas: int, before: int | None, target: WorkloadRef = WEB) -> Scale:
    fields: dict[str, JsonValue] = {} if before is None else {"/spec/replicas": before}
    return Scale(target=target, replicas=replicas, precondition=Precondition(fields=fields))


def test_scale_up_beside_a_drain_is_a_surge_from_its_pinned_count() -> None:
    """Cordon, scale 1 -> 2, drain: one surge of the workload on the drained node."""
    instruction = _instruction([Cordon(node="n1"), _scale(2, 1), Drain(node="n1")])

    assert surges_in(instruction) == [Surge(ObjectRef("Deployment", "web", "shop"), "n1", 1, 2)]


def test_scale_without_a_drain_is_no_surge() -> None:
    """A plain scale is the owner's new count, not something to undo."""
    assert surges_in(_instruction([_scale(2, 1)])) == []


def test_scale_down_or_unpinned_scale_is_no_surge() -> None:
    """Only a scale-up from a pinned count can be undone to that count."""
    actions: list[Action] = [_scale(1, 2), _scale(3, None), Drain(node="n1")]

    assert surges_in(_instruction(actions)) == []


def test_job_scale_is_no_surge() -> None:
    """Jobs are not surged: their parallelism is not a serving count."""
    job = WorkloadRef(kind=WorkloadKind.JOB, namespace="shop", name="batch")

    assert surges_in(_instruction([_scale(2, 1, job), Drain(node="n1")])) == []
