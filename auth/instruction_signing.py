"""Signing executor instructions: Ed25519 keys, a rotating keyring, and change set to instruction.

An approved recommendation's change set becomes an `Instruction`: its actions in order, each with
the preconditions it was computed from, plus tenant, cluster, issue and expiry times and a fresh
nonce, signed with Ed25519 over `canonical_json(body)`. Executors trust a set of public keys by
key id, so keys rotate without a flag day: the new key signs while the retired ones stay trusted
until every instruction they signed has expired.

Everything here is pure (no I/O, no clock reads): times are passed in. Sealing and storing the
private keys is the key store's business; this module converts keys to and from raw bytes.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from protocol.canonical import canonical_json
from protocol.changes import (
    Action,
    ApplyHpa,
    ApplyPdb,
    ApplyScaledObject,
    ChangeSet,
    PatchConfigMap,
    PatchResources,
    PatchScheduling,
    Precondition,
    Scale,
)
from protocol.instruction import Approval, Instruction, InstructionBody
from protocol.recommendation import ObjectVersion, Recommendation

DEFAULT_TTL = timedelta(minutes=30)
"""How long an approved instruction stays valid for delivery and execution."""

NONCE_BYTES = 16


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def raw_public_key(public_key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of a public key."""
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id_for(public_key: Ed25519PublicKey) -> str:
    """A stable key id: a prefix of the base64url SHA-256 of the raw public key."""
    return "ins-" + _b64url(hashlib.sha256(raw_public_key(public_key)).digest())[:22]


@dataclass(frozen=True)
class InstructionSigningKey:
    """A private signing key and the id executors know its public half by."""

    key_id: str
    private_key: Ed25519PrivateKey = field(repr=False)

    @property
    def public_key(self) -> Ed25519PublicKey:
        """The public half, for executors."""
        return self.private_key.public_key()

    def private_bytes(self) -> bytes:
        """The 32 raw private bytes, for the key store to seal."""
        return self.private_key.private_bytes_raw()

    @classmethod
    def from_private_bytes(cls, key_id: str, raw: bytes) -> InstructionSigningKey:
        """Rebuild a key unsealed by the key store."""
        return cls(key_id, Ed25519PrivateKey.from_private_bytes(raw))


def generate_signing_key() -> InstructionSigningKey:
    """A fresh Ed25519 key whose id derives from its public key."""
    private_key = Ed25519PrivateKey.generate()
    return InstructionSigningKey(key_id_for(private_key.public_key()), private_key)


def encode_public_key(public_key: Ed25519PublicKey) -> str:
    """Standard base64 of the raw public key: the format of the executor's trusted key list."""
    return base64.b64encode(raw_public_key(public_key)).decode("ascii")


@dataclass(frozen=True)
class InstructionKeyring:
    """The current signing key plus the public keys of retired ones that executors still trust."""

    current: InstructionSigningKey
    previous: Mapping[str, Ed25519PublicKey] = field(default_factory=dict)

    def rotate(self, new_key: InstructionSigningKey) -> InstructionKeyring:
        """Sign with `new_key` from now on; the current key's public half stays trusted."""
        if new_key.key_id == self.current.key_id or new_key.key_id in self.previous:
            raise ValueError(f"key id {new_key.key_id} is already in the keyring")
        previous = {**self.previous, self.current.key_id: self.current.public_key}
        return replace(self, current=new_key, previous=previous)

    def retire(self, key_id: str) -> InstructionKeyring:
        """Stop trusting a previous key (once every instruction it signed has expired)."""
        if key_id == self.current.key_id:
            raise ValueError("the current signing key cannot be retired; rotate first")
        return replace(self, previous={k: v for k, v in self.previous.items() if k != key_id})

    def trusted_public_keys(self) -> dict[str, str]:
        """`{key id: base64 raw public key}` for the executor's configuration."""
        keys = {kid: encode_public_key(key) for kid, key in self.previous.items()}
        keys[self.current.key_id] = encode_public_key(self.current.public_key)
        return keys

    def sign(self, body: InstructionBody) -> Instruction:
        """Sign with the current key."""
        return sign_instruction(body, self.current.private_key, self.current.key_id)


def sign_instruction(
    body: InstructionBody, private_key: Ed25519PrivateKey, key_id: str
) -> Instruction:
    """Sign `canonical_json(body)` with Ed25519; the signature is unpadded base64url."""
    signature = private_key.sign(canonical_json(body))
    return Instruction(body=body, key_id=key_id, signature=_b64url(signature))


def new_nonce() -> str:
    """A random hex nonce (32 characters) that makes every instruction single-use."""
    return secrets.token_hex(NONCE_BYTES)


def pin_preconditions(action: Action, computed_from: Sequence[ObjectVersion]) -> Action:
    """Pin an unpinned action to the resourceVersion its target had when it was computed.

    Node actions are left alone: node status churns constantly, so they pin fields instead.
    An action that already carries a precondition keeps it.
    """
    if action.precondition != Precondition():
        return action
    target = _target_of(action)
    if target is None:
        return action
    kind, namespace, name = target
    for version in computed_from:
        if (version.kind, version.namespace, version.name) == (kind, namespace, name):
            pinned = Precondition(resource_version=version.resource_version)
            return action.model_copy(update={"precondition": pinned})
    return action


def _target_of(action: Action) -> tuple[str, str | None, str] | None:
    if isinstance(action, PatchResources | PatchScheduling | Scale):
        return action.target.kind.value, action.target.namespace, action.target.name
    if isinstance(action, ApplyPdb):
        return "PodDisruptionBudget", action.namespace, action.name
    if isinstance(action, PatchConfigMap):
        return "ConfigMap", action.namespace, action.name
    if isinstance(action, ApplyHpa):
        return "HorizontalPodAutoscaler", action.target.namespace, action.name
    if isinstance(action, ApplyScaledObject):
        return "ScaledObject", action.target.namespace, action.name
    return None


def instruction_body_for(
    change_set: ChangeSet,
    *,
    tenant_id: uuid.UUID,
    cluster_id: uuid.UUID,
    issued_at: datetime,
    ttl: timedelta = DEFAULT_TTL,
    recommendation_id: uuid.UUID | None = None,
    computed_from: Sequence[ObjectVersion] = (),
    instruction_id: uuid.UUID | None = None,
    nonce: str | None = None,
    not_after: datetime | None = None,
) -> InstructionBody:
    """The unsigned body carrying out `change_set` (used by approval and spot handling).

    It expires `ttl` after `issued_at`, or at `not_after` if that comes first (a spot
    evacuation is worthless once the instance is gone).
    """
    if ttl <= timedelta(0):
        raise ValueError("an instruction needs a positive time to live")
    expires_at = issued_at + ttl if not_after is None else min(issued_at + ttl, not_after)
    if expires_at <= issued_at:
        raise ValueError("the instruction would expire before it is issued")
    return InstructionBody(
        instruction_id=instruction_id or uuid.uuid4(),
        tenant_id=tenant_id,
        cluster_id=cluster_id,
        recommendation_id=recommendation_id,
        issued_at=issued_at,
        expires_at=expires_at,
        nonce=nonce or new_nonce(),
        actions=[pin_preconditions(a, computed_from) for a in change_set.actions],
        computed_from=list(computed_from),
    )


def instruction_for_recommendation(
    recommendation: Recommendation,
    *,
    tenant_id: uuid.UUID,
    keyring: InstructionKeyring,
    now: datetime,
    ttl: timedelta = DEFAULT_TTL,
    approval: Approval = Approval.HUMAN,
) -> Instruction:
    """Turn an approved recommendation into a signed instruction for its cluster.

    `approval` says who approved it: a person in the console, or a tenant policy (executors in
    `approve-each` mode refuse the latter).
    """
    body = instruction_body_for(
        recommendation.change_set,
        tenant_id=tenant_id,
        cluster_id=recommendation.cluster_id,
        issued_at=now,
        ttl=ttl,
        recommendation_id=recommendation.recommendation_id,
        computed_from=recommendation.computed_from,
        not_after=recommendation.expires_at,
    )
    return keyring.sign(body.model_copy(update={"approval": approval}))
