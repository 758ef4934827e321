"""Canonical JSON: the exact bytes that instruction signatures cover.

Keys sorted, no insignificant white space, UTF-8, no NaN or infinities. Both the signer and the
verifier serialise the pydantic model in JSON mode first, so enum, UUID and datetime
representations are fixed by the model, not by the caller.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, JsonValue


def canonical_json(value: BaseModel | JsonValue) -> bytes:
    """Serialise a model or plain JSON value to canonical bytes."""
    plain = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
    return json.dumps(
        plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")
