"""The executor's durable state: nonces survive restarts, the outbox holds unreported results."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from auth.instruction_signing import generate_signing_key, instruction_body_for, sign_instruction
from executor.audit import AuditTrail
from executor.state import ExecutorState
from protocol.changes import ChangeSet, Cordon
from protocol.instruction import Instruction, InstructionResult, Outcome

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
KEY = generate_signing_key()


def _instruction(ttl: timedelta = timedelta(minutes=30)) -> Instruction:
    body = instruction_body_for(
        ChangeSet(actions=[Cordon(node="n1")]),
        tenant_id=uuid.uuid4(),
        cluster_id=uuid.uuid4(),
        issued_at=NOW,
        ttl=ttl,
    )
    return sign_instruction(body, KEY.private_key, KEY.key_id)


def _result(instruction: Instruction, outcome: Outcome = Outcome.APPLIED) -> InstructionResult:
    return InstructionResult(
        instruction_id=instruction.body.instruction_id,
        cluster_id=instruction.body.cluster_id,
        outcome=outcome,
        started_at=NOW,
        finished_at=NOW,
    )


def test_claimed_nonce_is_seen_after_reload(tmp_path: Path) -> None:
    """A nonce claimed before a restart is still known after it."""
    instruction = _instruction()
    ExecutorState.load(tmp_path).claim(instruction)
    seen = ExecutorState.load(tmp_path).seen(instruction.body.nonce)
    assert seen is not None
    assert seen.instruction_id == str(instruction.body.instruction_id)
    assert seen.expires_at == instruction.body.expires_at


def test_claiming_a_nonce_twice_fails(tmp_path: Path) -> None:
    """The same nonce cannot be claimed again."""
    state = ExecutorState.load(tmp_path)
    instruction = _instruction()
    state.claim(instruction)
    with pytest.raises(ValueError, match="already used"):
        state.claim(instruction)


def test_outbox_survives_restart_until_delivered(tmp_path: Path) -> None:
    """A queued result is still waiting after a reload and gone once delivered."""
    instruction = _instruction()
    ExecutorState.load(tmp_path).queue_result(_result(instruction))
    reloaded = ExecutorState.load(tmp_path)
    assert reloaded.outbox() == [_result(instruction)]
    reloaded.delivered(str(instruction.body.instruction_id))
    assert ExecutorState.load(tmp_path).outbox() == []


def test_waiting_result_is_not_overwritten(tmp_path: Path) -> None:
    """A second result for the same instruction does not replace the waiting one."""
    state = ExecutorState.load(tmp_path)
    instruction = _instruction()
    assert state.queue_result(_result(instruction)) is True
    assert state.queue_result(_result(instruction, Outcome.REFUSED)) is False
    waiting = state.waiting_result(str(instruction.body.instruction_id))
    assert waiting is not None
    assert waiting.outcome is Outcome.APPLIED


def test_prune_forgets_only_long_expired_nonces(tmp_path: Path) -> None:
    """Nonces are dropped once their instruction expired longer ago than the retention."""
    state = ExecutorState.load(tmp_path)
    short, long = _instruction(timedelta(minutes=1)), _instruction(timedelta(hours=2))
    state.claim(short)
    state.claim(long)
    pruned = state.prune(NOW + timedelta(minutes=62), retention=timedelta(hours=1))
    reloaded = ExecutorState.load(tmp_path)
    assert pruned == 1
    assert reloaded.seen(short.body.nonce) is None
    assert reloaded.seen(long.body.nonce) is not None


def test_state_file_of_unknown_version_is_refused(tmp_path: Path) -> None:
    """A state file written by an incompatible version is not silently ignored."""
    (tmp_path / "state.json").write_text('{"version": 99}', encoding="utf-8")
    with pytest.raises(ValueError, match="format version 99"):
        ExecutorState.load(tmp_path)


def test_audit_appends_one_json_line_per_event(tmp_path: Path) -> None:
    """Each audit record is one JSON object with time and event name, in order."""
    audit = AuditTrail(tmp_path, lambda: NOW)
    instruction = _instruction()
    audit.instruction(_result(instruction), mode="approve-each")
    audit.record("spot-fallback-started", node="n1")
    entries = audit.entries()
    assert [e["event"] for e in entries] == ["instruction", "spot-fallback-started"]
    assert entries[0]["instruction_id"] == str(instruction.body.instruction_id)
    assert entries[0]["outcome"] == "applied"
    assert entries[1] == {"at": NOW.isoformat(), "event": "spot-fallback-started", "node": "n1"}
    assert len((tmp_path / "audit.jsonl").read_text(encoding="utf-8").splitlines()) == 2


def test_kept_surge_survives_a_reload(tmp_path: Path) -> None:
    """A surge kept by one run is read back by the next."""
    surge = {"kind": "Deployment", "namespace": "shop", "name": "web", "node": "n1"}
    ExecutorState.load(tmp_path).keep_surge("Deployment/shop/web@n1", surge)

    assert ExecutorState.load(tmp_path).kept_surges() == {"Deployment/shop/web@n1": surge}


def test_dropped_surge_is_gone_after_a_reload(tmp_path: Path) -> None:
    """A surge whose wait ended is not resumed by the next run."""
    state = ExecutorState.load(tmp_path)
    state.keep_surge("Deployment/shop/web@n1", {"node": "n1"})
    state.drop_surge("Deployment/shop/web@n1")

    assert ExecutorState.load(tmp_path).kept_surges() == {}
