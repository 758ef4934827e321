"""Checking an action's preconditions against the live object.

A precondition records what the target looked like when the SaaS computed the change: its
whole resourceVersion, or individual fields by JSON pointer. If the live object differs the
executor refuses the instruction instead of overwriting someone else's newer change.
"""

from __future__ import annotations

import json

from executor.planning.merge_patch import JsonObject, resolve_pointer
from protocol.changes import Precondition


def _show(value: object) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def precondition_mismatches(precondition: Precondition, live: JsonObject | None) -> list[str]:
    """Every way `live` differs from `precondition`; empty when it still holds.

    A pinned field whose expected value is null holds while the field is absent or null; one
    expected to be false holds while it is absent too, because the API server leaves false
    booleans out of what it returns (`omitempty`), so a node never cordoned has no
    `spec.unschedulable` at all.
    """
    if live is None:
        if precondition.resource_version is not None or precondition.fields:
            return ["the object no longer exists"]
        return []
    mismatches: list[str] = []
    expected_version = precondition.resource_version
    if expected_version is not None:
        actual = (live.get("metadata") or {}).get("resourceVersion")
        if actual != expected_version:
            mismatches.append(f"resourceVersion is {actual}, expected {expected_version}")
    for pointer, expected in sorted(precondition.fields.items()):
        try:
            found, actual_value = resolve_pointer(live, pointer)
        except ValueError:
            mismatches.append(f"{pointer!r} is not a JSON pointer")
            continue
        if not found:
            actual_value = False if expected is False else None
        if actual_value != expected:
            mismatches.append(f"{pointer} is {_show(actual_value)}, expected {_show(expected)}")
    return mismatches
