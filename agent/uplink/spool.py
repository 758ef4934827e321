"""The on-disk spool: nothing is lost while the gateway is unreachable.

Two lanes, each a directory of files named by a strictly increasing sequence number, so they
are sent in the order they were spooled, also after a restart. Spot notices are never dropped.
Snapshots are capped by total size: when a new one pushes the lane over the cap, the oldest
go first (the newest snapshot carries the current inventory; old ones only old usage samples).
Files are written to a temporary name, flushed to disk and renamed, so a crash never leaves a
half-written payload behind.
"""

from __future__ import annotations

import contextlib
import os
from enum import StrEnum
from pathlib import Path


class Lane(StrEnum):
    """What a spooled payload is; the lane's directory name."""

    NOTICES = "notices"
    SNAPSHOTS = "snapshots"


SUFFIX = ".payload"
TEMP_SUFFIX = ".tmp"


class Spool:
    """Spooled payloads in `directory/<lane>/<sequence>.payload`."""

    def __init__(self, directory: Path, max_snapshot_bytes: int) -> None:
        """Open (creating if needed) a spool; leftovers of an interrupted write are removed."""
        self.directory = directory
        self.max_snapshot_bytes = max_snapshot_bytes
        self.dropped_snapshots = 0
        last = 0
        for lane in Lane:
            folder = directory / lane.value
            folder.mkdir(parents=True, exist_ok=True)
            for temp in folder.glob(f"*{TEMP_SUFFIX}"):
                temp.unlink(missing_ok=True)
            last = max([last, *(_sequence(p) for p in folder.glob(f"*{SUFFIX}"))])
        self._next = last + 1

    def put(self, lane: Lane, payload: bytes, *, tag: str = "") -> Path:
        """Spool a payload durably; over the cap, drop the oldest snapshots (never the new one).

        `tag` (letters only) goes into the file name after the sequence number: what the payload
        is, for the sender (`delta`), read back with `tag_of`.
        """
        if not tag.isalpha() and tag:
            raise ValueError(f"a spool tag is letters only, not {tag!r}")
        sequence, self._next = self._next, self._next + 1
        folder = self.directory / lane.value
        path = folder / f"{sequence:016d}{'.' + tag if tag else ''}{SUFFIX}"
        temp = path.with_suffix(TEMP_SUFFIX)
        with temp.open("wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        temp.replace(path)
        if lane is Lane.SNAPSHOTS:
            self._enforce_cap()
        return path

    def pending(self, lane: Lane) -> list[Path]:
        """Spooled payloads of a lane, oldest first."""
        return sorted((self.directory / lane.value).glob(f"*{SUFFIX}"), key=_sequence)

    def size(self, lane: Lane) -> int:
        """Bytes spooled in a lane."""
        return sum(_size(p) for p in self.pending(lane))

    @staticmethod
    def read(path: Path) -> bytes | None:
        """A spooled payload, or None if it was dropped meanwhile."""
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None

    @staticmethod
    def remove(path: Path) -> None:
        """Forget a payload once delivered (or refused for good)."""
        path.unlink(missing_ok=True)

    def _enforce_cap(self) -> None:
        """Drop the oldest snapshots until the lane fits, keeping at least the newest."""
        files = self.pending(Lane.SNAPSHOTS)
        sizes = [_size(p) for p in files]
        total = sum(sizes)
        for path, size in zip(files[:-1], sizes[:-1], strict=True):
            if total <= self.max_snapshot_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size
            self.dropped_snapshots += 1


def tag_of(path: Path) -> str:
    """The tag a payload was spooled with ("" for none)."""
    _, _, tag = path.name.removesuffix(SUFFIX).partition(".")
    return tag


def _sequence(path: Path) -> int:
    """The sequence number in a spool file's name (0 for a stray file)."""
    stem = path.name.removesuffix(SUFFIX).partition(".")[0]
    return int(stem) if stem.isdigit() else 0


def _size(path: Path) -> int:
    """A file's size, 0 if it is gone."""
    with contextlib.suppress(FileNotFoundError):
        return path.stat().st_size
    return 0
