"""Verifying instructions: signature, key id, addressee, validity window, allow-list, approval."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from auth.instruction_signing import (
    InstructionKeyring,
    encode_public_key,
    generate_signing_key,
    instruction_body_for,
    sign_instruction,
)
from executor.errors import RefusalError
from executor.settings import Mode
from executor.verification import VerificationPolicy, load_trusted_keys, verify_instruction
from protocol.changes import ActionType, ChangeSet, Cordon, Drain
from protocol.instruction import Approval, Instruction

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TENANT = uuid.UUID("00000000-0000-4000-8000-00000000000a")
CLUSTER = uuid.UUID("00000000-0000-4000-8000-00000000000b")
KEY = generate_signing_key()


def _policy(**overrides: object) -> VerificationPolicy:
    fields: dict[str, object] = {
        "trusted_keys": load_trusted_keys({KEY.key_id: encode_public_key(KEY.public_key)}),
        "cluster_id": CLUSTER,
        "allowed_action_types": set(ActionType),
        "tenant_id": TENANT,
        "max_clock_skew": timedelta(minutes=5),
    }
    fields.update(overrides)
    return VerificationPolicy(**fields)  # type: ignore[arg-type]


def _instruction(
    *,
    cluster_id: uuid.UUID = CLUSTER,
    tenant_id: uuid.UUID = TENANT,
    issued_at: datetime = NOW,
    ttl: timedelta = timedelta(minutes=30),
    actions: ChangeSet | None = None,
    approval: Approval = Approval.HUMAN,
) -> Instruction:
    body = instruction_body_for(
        actions or ChangeSet(actions=[Cordon(node="n1"), Drain(node="n1")]),
        tenant_id=tenant_id,
        cluster_id=cluster_id,
        issued_at=issued_at,
        ttl=ttl,
    ).model_copy(update={"approval": approval})
    return sign_instruction(body, KEY.private_key, KEY.key_id)


def test_valid_instruction_passes() -> None:
    """A correctly signed, current instruction for this cluster is accepted."""
    verify_instruction(_instruction(), _policy(), NOW + timedelta(minutes=1))


def test_unknown_key_id_is_refused() -> None:
    """A signature by a key id the executor does not trust is refused."""
    stranger = generate_signing_key()
    forged = sign_instruction(_instruction().body, stranger.private_key, stranger.key_id)
    with pytest.raises(RefusalError, match="untrusted key id"):
        verify_instruction(forged, _policy(), NOW)


def test_forged_signature_under_trusted_key_id_is_refused() -> None:
    """Signing with another key but claiming a trusted key id fails verification."""
    stranger = generate_signing_key()
    forged = sign_instruction(_instruction().body, stranger.private_key, KEY.key_id)
    with pytest.raises(RefusalError, match="does not match"):
        verify_instruction(forged, _policy(), NOW)


def test_tampered_body_is_refused() -> None:
    """Changing a signed body (here: a node name) breaks the signature."""
    original = _instruction()
    tampered_body = original.body.model_copy(update={"actions": [Cordon(node="other")]})
    tampered = original.model_copy(update={"body": tampered_body})
    with pytest.raises(RefusalError, match="does not match"):
        verify_instruction(tampered, _policy(), NOW)


def test_signature_of_wrong_length_is_refused() -> None:
    """A signature that decodes to other than 64 bytes is refused before verifying."""
    short = base64.urlsafe_b64encode(b"x" * 10).decode().rstrip("=")
    bad = _instruction().model_copy(update={"signature": short})
    with pytest.raises(RefusalError, match="10 bytes"):
        verify_instruction(bad, _policy(), NOW)


def test_signature_that_is_not_base64_is_refused() -> None:
    """Garbage in the signature field is a refusal, not a crash."""
    bad = _instruction().model_copy(update={"signature": "not*base64!"})
    with pytest.raises(RefusalError, match="base64"):
        verify_instruction(bad, _policy(), NOW)


def test_instruction_for_another_cluster_is_refused() -> None:
    """A genuine instruction addressed to another cluster is refused."""
    with pytest.raises(RefusalError, match="addressed to cluster"):
        verify_instruction(_instruction(cluster_id=uuid.uuid4()), _policy(), NOW)


def test_instruction_for_another_tenant_is_refused_when_tenant_is_configured() -> None:
    """With a tenant configured, another tenant's instruction is refused."""
    with pytest.raises(RefusalError, match="addressed to tenant"):
        verify_instruction(_instruction(tenant_id=uuid.uuid4()), _policy(), NOW)


def test_tenant_is_not_checked_when_not_configured() -> None:
    """Without a configured tenant only the cluster id decides."""
    verify_instruction(_instruction(tenant_id=uuid.uuid4()), _policy(tenant_id=None), NOW)


def test_instruction_is_refused_at_its_expiry_instant() -> None:
    """Expiry is exclusive: at expires_at the instruction is already refused."""
    instruction = _instruction(ttl=timedelta(minutes=10))
    verify_instruction(
        instruction, _policy(), NOW + timedelta(minutes=10) - timedelta(microseconds=1)
    )
    with pytest.raises(RefusalError, match="expired"):
        verify_instruction(instruction, _policy(), NOW + timedelta(minutes=10))


def test_instruction_from_the_future_beyond_skew_is_refused() -> None:
    """An issue time more than the allowed clock skew ahead is refused; within it, accepted."""
    verify_instruction(_instruction(issued_at=NOW + timedelta(minutes=5)), _policy(), NOW)
    with pytest.raises(RefusalError, match="future"):
        verify_instruction(
            _instruction(issued_at=NOW + timedelta(minutes=5, seconds=1)), _policy(), NOW
        )


def test_disallowed_action_type_is_refused_with_its_index() -> None:
    """An action type missing from the local allow-list refuses the whole instruction."""
    policy = _policy(allowed_action_types={ActionType.CORDON})
    with pytest.raises(RefusalError, match="'drain' is not allowed") as refused:
        verify_instruction(_instruction(), policy, NOW)
    assert refused.value.action_index == 1


def test_signature_is_checked_before_addressee() -> None:
    """A forged instruction for another cluster is refused for its signature, not its address."""
    stranger = generate_signing_key()
    forged = sign_instruction(
        _instruction(cluster_id=uuid.uuid4()).body, stranger.private_key, stranger.key_id
    )
    with pytest.raises(RefusalError, match="untrusted"):
        verify_instruction(forged, _policy(), NOW)


def test_previous_key_stays_valid_after_rotation() -> None:
    """Instructions signed before a rotation verify with the rotated keyring's trusted keys."""
    old, new = generate_signing_key(), generate_signing_key()
    keyring = InstructionKeyring(old).rotate(new)
    trusted = load_trusted_keys(keyring.trusted_public_keys())
    before = sign_instruction(_instruction().body, old.private_key, old.key_id)
    after = keyring.sign(_instruction().body)
    for instruction in (before, after):
        verify_instruction(instruction, _policy(trusted_keys=trusted), NOW)


def test_trusted_key_of_wrong_length_is_a_configuration_error() -> None:
    """A configured key that is not 32 bytes is rejected when loading."""
    with pytest.raises(ValueError, match="16 bytes"):
        load_trusted_keys({"k": base64.b64encode(b"x" * 16).decode()})


def test_trusted_key_accepts_urlsafe_unpadded_base64() -> None:
    """Keys may be given in URL-safe base64 without padding."""
    raw = base64.b64decode(encode_public_key(KEY.public_key))
    text = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    keys = load_trusted_keys({KEY.key_id: text})
    verify_instruction(_instruction(), _policy(trusted_keys=keys), NOW)


def test_policy_approved_instruction_is_refused_in_approve_each_mode() -> None:
    """approve-each applies only what a person approved, and says why it refused."""
    instruction = _instruction(approval=Approval.POLICY)
    with pytest.raises(RefusalError) as refused:
        verify_instruction(instruction, _policy(mode=Mode.APPROVE_EACH), NOW)
    assert refused.value.reason == (
        "approved by a policy, not by a person: this executor runs in approve-each mode "
        "and applies only instructions a person approved"
    )
    assert refused.value.action_index is None


def test_human_approved_instruction_passes_in_every_mode() -> None:
    """A person's approval is enough whatever the mode and the auto allow-list."""
    for mode in Mode:
        verify_instruction(_instruction(), _policy(mode=mode, auto_action_types=set()), NOW)


def test_policy_approved_instruction_runs_in_auto_mode_when_every_type_is_auto_listed() -> None:
    """auto mode applies a policy's approval when cordon and drain are both auto-listed."""
    policy = _policy(mode=Mode.AUTO, auto_action_types={ActionType.CORDON, ActionType.DRAIN})
    verify_instruction(_instruction(approval=Approval.POLICY), policy, NOW)


def test_policy_approved_action_off_the_auto_list_is_refused_with_its_index() -> None:
    """One action type missing from the auto allow-list refuses the whole instruction."""
    policy = _policy(mode=Mode.AUTO, auto_action_types={ActionType.CORDON})
    with pytest.raises(RefusalError) as refused:
        verify_instruction(_instruction(approval=Approval.POLICY), policy, NOW)
    assert refused.value.reason == (
        "approved by a policy, not by a person: action type 'drain' "
        "is not on this executor's auto allow-list"
    )
    assert refused.value.action_index == 1


def test_dry_run_mode_previews_policy_approved_instructions() -> None:
    """dry-run changes nothing, so who approved does not matter there."""
    verify_instruction(_instruction(approval=Approval.POLICY), _policy(mode=Mode.DRY_RUN), NOW)


def test_approval_is_covered_by_the_signature() -> None:
    """Relabelling a policy-approved instruction as human-approved breaks its signature."""
    genuine = _instruction(approval=Approval.POLICY)
    relabelled = genuine.model_copy(
        update={"body": genuine.body.model_copy(update={"approval": Approval.HUMAN})}
    )
    with pytest.raises(RefusalError, match="does not match"):
        verify_instruction(relabelled, _policy(), NOW)
