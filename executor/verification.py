"""Verifying a delivered instruction before anything in the cluster is touched.

The checks run in an order that never lets an unauthenticated input influence state: the
signature first (with a key id the executor trusts), then the addressee (cluster, tenant), the
validity window, the local allow-list and finally who approved it: a person in the console, or a
tenant policy. Only a person's approval is enough in `approve-each` mode; in `auto` mode a
policy's approval is enough for the action types on the executor's auto allow-list. Replays are
checked afterwards against the persisted state (`executor.state`), so a forged instruction
cannot burn a nonce.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from executor.errors import RefusalError
from executor.settings import Mode
from protocol.canonical import canonical_json
from protocol.changes import ActionType
from protocol.instruction import Approval, Instruction, InstructionBody

SIGNATURE_BYTES = 64
PUBLIC_KEY_BYTES = 32


def _decode_base64(text: str) -> bytes:
    """Standard or URL-safe base64, padded or not."""
    padded = text + "=" * (-len(text) % 4)
    alphabet_fixed = padded.replace("-", "+").replace("_", "/")
    return base64.b64decode(alphabet_fixed, validate=True)


def load_trusted_keys(encoded: Mapping[str, str]) -> dict[str, Ed25519PublicKey]:
    """Parse `{key id: base64 raw public key}`; a malformed key is a configuration error."""
    keys: dict[str, Ed25519PublicKey] = {}
    for key_id, text in encoded.items():
        try:
            raw = _decode_base64(text.strip())
        except (binascii.Error, ValueError) as e:
            raise ValueError(f"trusted key {key_id!r} is not base64") from e
        if len(raw) != PUBLIC_KEY_BYTES:
            raise ValueError(f"trusted key {key_id!r} is {len(raw)} bytes, not {PUBLIC_KEY_BYTES}")
        keys[key_id] = Ed25519PublicKey.from_public_bytes(raw)
    return keys


@dataclass(frozen=True)
class VerificationPolicy:
    """What this executor accepts."""

    trusted_keys: Mapping[str, Ed25519PublicKey]
    cluster_id: uuid.UUID
    allowed_action_types: Collection[ActionType]
    tenant_id: uuid.UUID | None = None
    max_clock_skew: timedelta = timedelta(minutes=5)
    mode: Mode = Mode.APPROVE_EACH
    auto_action_types: Collection[ActionType] = frozenset()
    """In `auto` mode, the action types a policy-approved instruction may consist of."""


def verify_signature(
    instruction: Instruction, trusted_keys: Mapping[str, Ed25519PublicKey]
) -> None:
    """Refuse unless a trusted key signed exactly this body."""
    key = trusted_keys.get(instruction.key_id)
    if key is None:
        raise RefusalError(f"signed with untrusted key id {instruction.key_id!r}")
    try:
        signature = _decode_base64(instruction.signature)
    except (binascii.Error, ValueError) as e:
        raise RefusalError("signature is not base64url") from e
    if len(signature) != SIGNATURE_BYTES:
        raise RefusalError(f"signature is {len(signature)} bytes, not {SIGNATURE_BYTES}")
    try:
        key.verify(signature, canonical_json(instruction.body))
    except InvalidSignature as e:
        raise RefusalError("signature does not match the instruction body") from e


def verify_instruction(instruction: Instruction, policy: VerificationPolicy, now: datetime) -> None:
    """Raise `RefusalError` unless the instruction is authentic, for us, current and allowed."""
    verify_signature(instruction, policy.trusted_keys)
    body = instruction.body
    if body.cluster_id != policy.cluster_id:
        raise RefusalError(f"addressed to cluster {body.cluster_id}, this is {policy.cluster_id}")
    if policy.tenant_id is not None and body.tenant_id != policy.tenant_id:
        raise RefusalError(f"addressed to tenant {body.tenant_id}, this is {policy.tenant_id}")
    if body.expires_at <= body.issued_at:
        raise RefusalError("expires before it was issued")
    if now >= body.expires_at:
        raise RefusalError(f"expired at {body.expires_at.isoformat()}")
    if body.issued_at - now > policy.max_clock_skew:
        raise RefusalError(f"issued in the future ({body.issued_at.isoformat()})")
    for index, action in enumerate(body.actions):
        if action.type not in policy.allowed_action_types:
            raise RefusalError(
                f"action type {action.type.value!r} is not allowed here", action_index=index
            )
    verify_approval(body, policy)


def verify_approval(body: InstructionBody, policy: VerificationPolicy) -> None:
    """Refuse a policy-approved instruction that this executor's mode does not let run.

    A person's approval suffices in every mode; dry-run mode changes nothing, so it previews
    policy-approved instructions too.
    """
    if body.approval is Approval.HUMAN or policy.mode is Mode.DRY_RUN:
        return
    if policy.mode is Mode.APPROVE_EACH:
        raise RefusalError(
            "approved by a policy, not by a person: this executor runs in approve-each mode "
            "and applies only instructions a person approved"
        )
    for index, action in enumerate(body.actions):
        if action.type not in policy.auto_action_types:
            raise RefusalError(
                f"approved by a policy, not by a person: action type {action.type.value!r} "
                "is not on this executor's auto allow-list",
                action_index=index,
            )
