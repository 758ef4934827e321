"""Follow a child's log file and hand over the new lines that carry a given prefix."""

from __future__ import annotations

from pathlib import Path


class LogFollower:
    """Reads a growing log file from where it last stopped."""

    def __init__(self, path: Path, *, prefix: str) -> None:
        """Follow `path`, keeping the lines that start with `prefix` (returned without it)."""
        self._path = path
        self._prefix = prefix
        self._offset = 0
        self._partial = b""

    def new_lines(self) -> list[str]:
        """Complete lines written since the last call that start with the prefix."""
        try:
            with self._path.open("rb") as handle:
                handle.seek(self._offset)
                chunk = handle.read()
        except FileNotFoundError:
            return []
        self._offset += len(chunk)
        *complete, self._partial = (self._partial + chunk).split(b"\n")
        lines = (raw.decode(errors="replace").rstrip("\r") for raw in complete)
        return [line.removeprefix(self._prefix) for line in lines if line.startswith(self._prefix)]
