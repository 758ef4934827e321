"""The executor's durable memory: nonces it has acted on, results not yet reported, and surges
not yet scaled back.

A nonce is recorded before the first write to the cluster, so an instruction runs at most once
even across restarts, and it is kept until well after the instruction expired (after which the
expiry check refuses it anyway). Results wait in an outbox until the gateway has accepted them: a
redelivered instruction whose result is still waiting gets that result again, not a second run.
A surge (`executor.spot_surge`) is kept from the moment its scale-back is awaited until that wait
ends, so an executor that restarts meanwhile resumes it. The file is replaced atomically on every
change.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from protocol.instruction import Instruction, InstructionResult

STATE_FILE = "state.json"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class SeenNonce:
    """An instruction the executor has started."""

    instruction_id: str
    expires_at: datetime


class ExecutorState:
    """Seen nonces, the result outbox and pending surges, persisted in one JSON file."""

    def __init__(
        self,
        path: Path,
        seen: dict[str, SeenNonce],
        outbox: dict[str, Any],
        surges: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        """Use `load` to read an existing file."""
        self.path = path
        self._seen = seen
        self._outbox = outbox
        self._surges = surges or {}

    @classmethod
    def load(cls, state_dir: Path) -> ExecutorState:
        """Read the state in `state_dir` (created if missing); a fresh state if there is none."""
        state_dir.mkdir(parents=True, exist_ok=True)
        path = state_dir / STATE_FILE
        if not path.exists():
            return cls(path, {}, {})
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("version") != FORMAT_VERSION:
            raise ValueError(f"{path} has unknown format version {document.get('version')!r}")
        seen = {
            nonce: SeenNonce(entry["instruction_id"], datetime.fromisoformat(entry["expires_at"]))
            for nonce, entry in document.get("seen", {}).items()
        }
        return cls(path, seen, dict(document.get("outbox", {})), dict(document.get("surges", {})))

    def seen(self, nonce: str) -> SeenNonce | None:
        """The instruction that used `nonce`, if any did."""
        return self._seen.get(nonce)

    def claim(self, instruction: Instruction) -> None:
        """Record the nonce durably before anything is applied."""
        body = instruction.body
        if body.nonce in self._seen:
            raise ValueError(f"nonce {body.nonce} was already used")
        self._seen[body.nonce] = SeenNonce(str(body.instruction_id), body.expires_at)
        self._save()

    def queue_result(self, result: InstructionResult) -> bool:
        """Put a result in the outbox; False if one for that instruction is already waiting."""
        key = str(result.instruction_id)
        if key in self._outbox:
            return False
        self._outbox[key] = result.model_dump(mode="json")
        self._save()
        return True

    def waiting_result(self, instruction_id: str) -> InstructionResult | None:
        """The unreported result of an instruction, if there is one."""
        document = self._outbox.get(instruction_id)
        return None if document is None else InstructionResult.model_validate(document)

    def outbox(self) -> list[InstructionResult]:
        """Every result not yet accepted by the gateway, oldest first."""
        results = [InstructionResult.model_validate(d) for d in self._outbox.values()]
        return sorted(results, key=lambda r: r.finished_at)

    def delivered(self, instruction_id: str) -> None:
        """The gateway has the result (or will never take it): drop it from the outbox."""
        if self._outbox.pop(instruction_id, None) is not None:
            self._save()

    def prune(self, now: datetime, retention: timedelta) -> int:
        """Forget nonces of instructions expired for longer than `retention`; returns how many."""
        stale = [n for n, s in self._seen.items() if s.expires_at + retention < now]
        for nonce in stale:
            del self._seen[nonce]
        if stale:
            self._save()
        return len(stale)

    def keep_surge(self, key: str, surge: dict[str, Any]) -> None:
        """Record a surge whose scale-back is awaited, under `key`."""
        self._surges[key] = surge
        self._save()

    def drop_surge(self, key: str) -> None:
        """The wait for a surge's scale-back has ended: forget it."""
        if self._surges.pop(key, None) is not None:
            self._save()

    def kept_surges(self) -> dict[str, dict[str, Any]]:
        """Surges whose scale-back was still awaited when last saved, by key."""
        return dict(self._surges)

    def _save(self) -> None:
        document = {
            "version": FORMAT_VERSION,
            "seen": {
                nonce: {"instruction_id": s.instruction_id, "expires_at": s.expires_at.isoformat()}
                for nonce, s in self._seen.items()
            },
            "outbox": self._outbox,
            "surges": self._surges,
        }
        fd, temporary = tempfile.mkstemp(prefix=".state-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(document, handle, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            Path(temporary).replace(self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                Path(temporary).unlink()
            raise
