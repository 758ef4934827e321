"""Instruction signing: Ed25519 over canonical JSON, key ids, rotation, building instructions."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from auth.instruction_signing import (
    InstructionKeyring,
    InstructionSigningKey,
    generate_signing_key,
    instruction_body_for,
    instruction_for_recommendation,
    key_id_for,
    new_nonce,
    pin_preconditions,
    sign_instruction,
)
from protocol.canonical import canonical_json
from protocol.changes import (
    ChangeSet,
    Cordon,
    Precondition,
    Scale,
    WorkloadRef,
)
from protocol.instruction import Approval, InstructionBody
from protocol.recommendation import ObjectVersion, Recommendation, RecommendationKind, Risk
from protocol.snapshot import WorkloadKind

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TENANT = uuid.UUID("00000000-0000-4000-8000-000000000001")
CLUSTER = uuid.UUID("00000000-0000-4000-8000-000000000002")
WEB = WorkloadRef(kind=WorkloadKind.DEPLOYMENT, namespace="shop", name="web")


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _public(encoded: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(encoded))


def _body(ttl: timedelta = timedelta(minutes=30)) -> InstructionBody:
    return instruction_body_for(
        ChangeSet(actions=[Cordon(node="n1")]),
        tenant_id=TENANT,
        cluster_id=CLUSTER,
        issued_at=NOW,
        ttl=ttl,
    )


def test_signature_verifies_over_canonical_body() -> None:
    """The signature is Ed25519 over canonical_json(body), unpadded base64url, 64 bytes."""
    key = generate_signing_key()
    instruction = sign_instruction(_body(), key.private_key, key.key_id)
    signature = _decode(instruction.signature)
    assert "=" not in instruction.signature
    assert len(signature) == 64
    key.public_key.verify(signature, canonical_json(instruction.body))


def test_signature_does_not_cover_a_changed_body() -> None:
    """Changing any field of the body invalidates the signature."""
    key = generate_signing_key()
    instruction = sign_instruction(_body(), key.private_key, key.key_id)
    tampered = instruction.body.model_copy(update={"cluster_id": uuid.uuid4()})
    with pytest.raises(InvalidSignature):
        key.public_key.verify(_decode(instruction.signature), canonical_json(tampered))


def test_key_id_derives_from_public_key() -> None:
    """The key id is stable for a key and differs between keys."""
    key = generate_signing_key()
    other = generate_signing_key()
    assert key.key_id == key_id_for(key.public_key)
    assert key.key_id.startswith("ins-")
    assert len(key.key_id) == 26
    assert key.key_id != other.key_id


def test_private_key_round_trips_through_raw_bytes() -> None:
    """A key rebuilt from its raw private bytes signs verifiably under the same id."""
    key = generate_signing_key()
    raw = key.private_bytes()
    rebuilt = InstructionSigningKey.from_private_bytes(key.key_id, raw)
    instruction = sign_instruction(_body(), rebuilt.private_key, rebuilt.key_id)
    assert len(raw) == 32
    key.public_key.verify(_decode(instruction.signature), canonical_json(instruction.body))


def test_rotation_keeps_previous_public_key_trusted() -> None:
    """After rotation the new key signs and both public keys are in the trusted set."""
    first, second = generate_signing_key(), generate_signing_key()
    keyring = InstructionKeyring(first).rotate(second)
    instruction = keyring.sign(_body())
    trusted = keyring.trusted_public_keys()
    assert instruction.key_id == second.key_id
    assert set(trusted) == {first.key_id, second.key_id}
    _public(trusted[second.key_id]).verify(
        _decode(instruction.signature), canonical_json(instruction.body)
    )
    old = sign_instruction(_body(), first.private_key, first.key_id)
    _public(trusted[first.key_id]).verify(_decode(old.signature), canonical_json(old.body))


def test_retired_key_leaves_the_trusted_set() -> None:
    """Retiring a previous key removes it; the current key cannot be retired."""
    first, second = generate_signing_key(), generate_signing_key()
    keyring = InstructionKeyring(first).rotate(second)
    assert set(keyring.retire(first.key_id).trusted_public_keys()) == {second.key_id}
    with pytest.raises(ValueError, match="current"):
        keyring.retire(second.key_id)


def test_rotating_to_a_known_key_is_refused() -> None:
    """A key id already in the keyring cannot be rotated in again."""
    first = generate_signing_key()
    with pytest.raises(ValueError, match="already"):
        InstructionKeyring(first).rotate(first)


def test_body_has_expiry_nonce_and_addressee() -> None:
    """The body carries tenant, cluster, issue time plus ttl as expiry and a 32-hex nonce."""
    body = instruction_body_for(
        ChangeSet(actions=[Cordon(node="n1")]),
        tenant_id=TENANT,
        cluster_id=CLUSTER,
        issued_at=NOW,
        ttl=timedelta(minutes=10),
    )
    assert (body.tenant_id, body.cluster_id) == (TENANT, CLUSTER)
    assert body.expires_at == datetime(2026, 3, 1, 12, 10, tzinfo=UTC)
    assert len(body.nonce) == 32
    int(body.nonce, 16)


def test_nonces_differ() -> None:
    """Two nonces are never the same."""
    assert len({new_nonce() for _ in range(100)}) == 100


def test_non_positive_ttl_is_refused() -> None:
    """An instruction that would be born expired is not built."""
    with pytest.raises(ValueError, match="positive"):
        _body(ttl=timedelta(0))


def test_expiry_is_cut_to_not_after() -> None:
    """An instruction expires at `not_after` when that comes before the end of its ttl."""
    body = instruction_body_for(
        ChangeSet(actions=[Cordon(node="n1")]),
        tenant_id=TENANT,
        cluster_id=CLUSTER,
        issued_at=NOW,
        ttl=timedelta(minutes=15),
        not_after=NOW + timedelta(seconds=90),
    )
    assert body.expires_at == NOW + timedelta(seconds=90)


def test_not_after_in_the_past_is_refused() -> None:
    """Nothing is issued for a deadline that has already passed."""
    with pytest.raises(ValueError, match="expire before"):
        instruction_body_for(
            ChangeSet(actions=[Cordon(node="n1")]),
            tenant_id=TENANT,
            cluster_id=CLUSTER,
            issued_at=NOW,
            not_after=NOW - timedelta(seconds=1),
        )


def test_unpinned_workload_action_is_pinned_to_computed_resource_version() -> None:
    """A Scale with no precondition gets the resourceVersion its target was computed from."""
    versions = [
        ObjectVersion(kind="Deployment", namespace="shop", name="web", resource_version="812"),
        ObjectVersion(kind="Deployment", namespace="shop", name="api", resource_version="9"),
    ]
    pinned = pin_preconditions(Scale(target=WEB, replicas=3), versions)
    assert pinned.precondition == Precondition(resource_version="812")


def test_node_action_and_explicit_precondition_are_left_alone() -> None:
    """Node actions stay unpinned; an action's own precondition is kept."""
    versions = [ObjectVersion(kind="Node", name="n1", resource_version="5")]
    cordon = Cordon(node="n1")
    explicit = Scale(
        target=WEB, replicas=3, precondition=Precondition(fields={"/spec/replicas": 2})
    )
    assert pin_preconditions(cordon, versions) == cordon
    assert pin_preconditions(explicit, versions) == explicit


def _recommendation() -> Recommendation:
    return Recommendation(
        recommendation_id=uuid.uuid4(),
        cluster_id=CLUSTER,
        kind=RecommendationKind.RIGHTSIZING,
        workload=WEB,
        title="Scale web down",
        reason="idle",
        risk=Risk.LOW,
        monthly_saving_usd=40.0,
        change_set=ChangeSet(actions=[Scale(target=WEB, replicas=1)]),
        computed_from=[
            ObjectVersion(kind="Deployment", namespace="shop", name="web", resource_version="77")
        ],
        created_at=NOW,
    )


def test_recommendation_becomes_signed_instruction_for_its_cluster() -> None:
    """An approved recommendation yields a signed instruction with its actions and versions."""
    key = generate_signing_key()
    recommendation = _recommendation()
    instruction = instruction_for_recommendation(
        recommendation, tenant_id=TENANT, keyring=InstructionKeyring(key), now=NOW
    )
    body = instruction.body
    assert (body.cluster_id, body.recommendation_id) == (
        CLUSTER,
        recommendation.recommendation_id,
    )
    assert body.expires_at - body.issued_at == timedelta(minutes=30)
    assert body.actions[0].precondition.resource_version == "77"
    assert body.computed_from == recommendation.computed_from
    assert body.approval is Approval.HUMAN
    key.public_key.verify(_decode(instruction.signature), canonical_json(body))


def test_policy_approval_is_recorded_in_the_signed_body() -> None:
    """An instruction a tenant policy approved says so, under the signature."""
    key = generate_signing_key()
    instruction = instruction_for_recommendation(
        _recommendation(),
        tenant_id=TENANT,
        keyring=InstructionKeyring(key),
        now=NOW,
        approval=Approval.POLICY,
    )
    assert instruction.body.approval is Approval.POLICY
    assert canonical_json(instruction.body).count(b'"approval":"policy"') == 1
    key.public_key.verify(_decode(instruction.signature), canonical_json(instruction.body))
