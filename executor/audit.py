"""The executor's own audit trail: a structured log line and a local JSONL file per event.

The SaaS keeps its own audit of what it sent and what was reported; this one records what the
executor decided in the cluster, even when the gateway could not be reached.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog

from protocol.instruction import InstructionResult

AUDIT_FILE = "audit.jsonl"

log = structlog.get_logger("executor.audit")


class AuditTrail:
    """Appends one JSON object per line to `audit.jsonl` and logs the same event."""

    def __init__(self, state_dir: Path, clock: Callable[[], datetime]) -> None:
        """Write into `state_dir`; `clock` stamps entries."""
        state_dir.mkdir(parents=True, exist_ok=True)
        self.path = state_dir / AUDIT_FILE
        self._clock = clock

    def record(self, event: str, **fields: Any) -> dict[str, Any]:
        """Append one entry and return it."""
        entry = {"at": self._clock().isoformat(), "event": event, **fields}
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, sort_keys=True, default=str) + "\n")
        log.info(event, **fields)
        return entry

    def instruction(self, result: InstructionResult, *, mode: str, note: str = "") -> None:
        """Record what became of one instruction."""
        self.record(
            "instruction",
            instruction_id=str(result.instruction_id),
            cluster_id=str(result.cluster_id),
            outcome=result.outcome.value,
            reason=result.reason,
            mode=mode,
            note=note,
            actions=[
                {
                    "index": a.index,
                    "type": a.type.value,
                    "outcome": a.outcome.value,
                    "message": a.message,
                }
                for a in result.actions
            ],
        )

    def entries(self) -> list[dict[str, Any]]:
        """Every entry written so far (for inspection and tests)."""
        if not self.path.exists():
            return []
        lines = self.path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]
