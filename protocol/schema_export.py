"""Export the wire contracts as JSON Schemas and guard them against silent breaking changes.

`python -m protocol.schema_export` (or `make schemas`) writes one schema per model into
`protocol/schemas/v<SCHEMA_VERSION>/` and extends that version's compatibility lock, which records
every field path, its JSON types, which paths are required and every enum value. A change that
removes or narrows anything recorded in the lock, or makes a new field required, is breaking: the
export refuses it until `SCHEMA_VERSION` is bumped, which starts a new schema folder and lock.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from protocol import SCHEMA_VERSION
from protocol.changes import ChangeSet
from protocol.delta import ClusterDelta
from protocol.instruction import Instruction, InstructionResult
from protocol.recommendation import Recommendation
from protocol.snapshot import ClusterSnapshot
from protocol.spot import SpotNotice
from protocol.topics import DeadLetter, DeltaMessage, SnapshotMessage, SpotNoticeMessage

MODELS: dict[str, type[BaseModel]] = {
    "cluster_snapshot": ClusterSnapshot,
    "cluster_delta": ClusterDelta,
    "spot_notice": SpotNotice,
    "recommendation": Recommendation,
    "change_set": ChangeSet,
    "instruction": Instruction,
    "instruction_result": InstructionResult,
    "snapshot_message": SnapshotMessage,
    "delta_message": DeltaMessage,
    "spot_notice_message": SpotNoticeMessage,
    "dead_letter": DeadLetter,
}
SCHEMAS_DIR = Path(__file__).parent / "schemas"
LOCK_NAME = "compat.lock.json"


def schema_dir(version: str = SCHEMA_VERSION) -> Path:
    """Folder of the exported schemas of one major version."""
    return SCHEMAS_DIR / f"v{version}"


def render(model: type[BaseModel]) -> str:
    """A model's JSON Schema as stable, diff-friendly text."""
    return json.dumps(model.model_json_schema(), indent=2, sort_keys=True) + "\n"


def fingerprint(schema: dict[str, Any]) -> dict[str, Any]:
    """Field paths with their JSON types, the required paths, and enum values of a schema."""
    types: dict[str, list[str]] = {}
    required: set[str] = set()
    enums: dict[str, list[Any]] = {}
    variant_required: dict[str, set[str]] = {}
    defs: dict[str, Any] = schema.get("$defs", {})

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        ref = node.get("$ref")
        return resolve(defs[ref.rsplit("/", 1)[-1]]) if isinstance(ref, str) else node

    def walk(node: dict[str, Any], path: str, stack: tuple[str, ...]) -> None:
        node = resolve(node)
        kinds: set[str] = set()
        variants = node.get("anyOf") or node.get("oneOf") or [node]
        for raw in variants:
            variant = resolve(raw)
            kind = variant.get("type", "object" if "properties" in variant else "any")
            kinds.add(str(kind))
            if "enum" in variant or "const" in variant:
                values = variant.get("enum", [variant.get("const")])
                enums.setdefault(path, [])
                enums[path] = sorted({*enums[path], *values}, key=str)
            title = str(variant.get("title", ""))
            if title and title in stack:
                continue
            child_stack = (*stack, title)
            tag = _discriminator(variant) if len(variants) > 1 else None
            for name, prop in variant.get("properties", {}).items():
                child = f"{path}.{name}" if path else name
                if name in variant.get("required", []):
                    required.add(child)
                    variant_required.setdefault(child, set()).add(tag or "")
                walk(prop, child, child_stack)
            if isinstance(variant.get("items"), dict):
                walk(variant["items"], f"{path}[]", child_stack)
            if isinstance(variant.get("additionalProperties"), dict):
                walk(variant["additionalProperties"], f"{path}{{}}", child_stack)
        types[path or "$"] = sorted({*types.get(path or "$", []), *kinds})

    walk(schema, "", ())
    return {
        "types": types,
        "required": sorted(required),
        "enums": enums,
        "required_by_variant": {k: sorted(v) for k, v in variant_required.items()},
    }


def _discriminator(variant: dict[str, Any]) -> str | None:
    """The constant `type` a variant of a discriminated union is selected by, if any."""
    tag = variant.get("properties", {}).get("type", {})
    value = tag.get(
        "const", (tag.get("enum") or [None])[0] if len(tag.get("enum", [])) == 1 else None
    )
    return str(value) if value is not None else None


def breaking_changes(locked: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Why `current` cannot be read by consumers of `locked` (empty when compatible)."""
    problems: list[str] = []
    for path, kinds in locked["types"].items():
        now = current["types"].get(path)
        if now is None:
            problems.append(f"{path}: removed")
        elif not set(kinds) <= set(now) and "any" not in now:
            problems.append(f"{path}: type narrowed from {kinds} to {now}")
    for path in sorted(set(current["required"]) - set(locked["required"])):
        # A required field inside a newly added optional object breaks nobody.
        parent = path.rsplit(".", 1)[0] if "." in path else "$"
        # Nor does one required only by union variants whose tag is new: no reader of the
        # locked version is sent such a variant.
        known_tags = {str(v) for v in locked["enums"].get(f"{parent}.type", [])}
        tags = current.get("required_by_variant", {}).get(path, [""])
        if all(tag and tag not in known_tags for tag in tags):
            continue
        if parent in locked["types"]:
            problems.append(f"{path}: became required")
    for path, values in locked["enums"].items():
        missing = [v for v in values if v not in current["enums"].get(path, values)]
        if missing:
            problems.append(f"{path}: enum values removed {missing}")
    return problems


def merge_locks(locked: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """The lock after an additive change: everything recorded before plus the new paths."""
    types = {**current["types"], **locked["types"]}
    for path, kinds in current["types"].items():
        types[path] = sorted({*types[path], *kinds})
    enums = dict(locked["enums"])
    for path, values in current["enums"].items():
        enums[path] = sorted({*enums.get(path, []), *values}, key=str)
    # Paths that became required compatibly (in new objects or new variants) are recorded, so
    # later versions are checked against them too.
    required = sorted({*locked["required"], *current["required"]})
    return {"types": types, "required": required, "enums": enums}


def export(directory: Path | None = None) -> list[str]:
    """Write every schema and extend the lock; return breaking problems (nothing written then)."""
    target = directory or schema_dir()
    lock_path = target / LOCK_NAME
    lock: dict[str, Any] = json.loads(lock_path.read_text()) if lock_path.exists() else {}
    problems: list[str] = []
    new_lock: dict[str, Any] = {}
    for name, model in MODELS.items():
        current = fingerprint(model.model_json_schema())
        if name in lock:
            problems += [f"{name}: {p}" for p in breaking_changes(lock[name], current)]
            new_lock[name] = merge_locks(lock[name], current)
        else:
            new_lock[name] = current
    if problems:
        return problems
    target.mkdir(parents=True, exist_ok=True)
    for name, model in MODELS.items():
        (target / f"{name}.json").write_text(render(model))
    lock_path.write_text(json.dumps(new_lock, indent=1, sort_keys=True) + "\n")
    return []


def main() -> int:
    """Export, or explain why a breaking change needs a version bump."""
    problems = export()
    if problems:
        sys.stderr.write(
            f"breaking changes to schema version {SCHEMA_VERSION}; bump protocol.SCHEMA_VERSION:\n"
        )
        sys.stderr.writelines(f"  {p}\n" for p in problems)
        return 1
    sys.stdout.write(f"schemas written to {schema_dir()}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
