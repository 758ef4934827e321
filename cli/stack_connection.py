"""Where a running `slicewise up` listens, written to a file so other commands can find it.

`slicewise up` writes `stack.json` (mode 0600: the URLs may carry passwords) into its run
directory and a copy at `.slicewise/stack.json` in the checkout, which it removes when it stops.
`slicewise admin` run from the same checkout reads that copy when no database URL is given, and
ignores it once the process that wrote it has gone.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from cli.stack_options import REPO_ROOT

FILE_NAME = "stack.json"
CHECKOUT_FILE = REPO_ROOT / ".slicewise" / FILE_NAME
"""The copy `slicewise admin` looks for."""


@dataclass(frozen=True)
class StackConnection:
    """Connection details of one running local stack."""

    pid: int
    run_dir: str
    database_url: str
    """The schema owner's URL (what `slicewise migrate` uses)."""
    app_database_url: str
    """The application role's URL: what the services and `slicewise admin` use."""
    redis_url: str
    kafka_bootstrap: str
    gateway_url: str

    def service_lines(self) -> list[str]:
        """Human-readable lines, one per backing service (the gateway is announced apart)."""
        return [
            f"Database: {self.database_url} (application role: {self.app_database_url})",
            f"Redis: {self.redis_url}",
            f"Kafka bootstrap: {self.kafka_bootstrap}",
        ]

    def publish(self, checkout_file: Path = CHECKOUT_FILE) -> Path:
        """Write `stack.json` into the run directory and its copy into the checkout."""
        path = Path(self.run_dir) / FILE_NAME
        _write_private(path, self)
        checkout_file.parent.mkdir(parents=True, exist_ok=True)
        _write_private(checkout_file, self)
        return path

    def withdraw(self, checkout_file: Path = CHECKOUT_FILE) -> None:
        """Remove the checkout's copy if it is still this stack's (a newer stack may own it)."""
        if read_connection(checkout_file) == self:
            checkout_file.unlink(missing_ok=True)


def _write_private(path: Path, connection: StackConnection) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(asdict(connection), handle, indent=2)
        handle.write("\n")
    # Renamed into place so a reader never sees half a file.
    temporary.replace(path)


def read_connection(path: Path = CHECKOUT_FILE) -> StackConnection | None:
    """The details in `path`, or None if it is absent or unreadable."""
    try:
        fields = json.loads(path.read_text())
        return StackConnection(**fields)
    except (OSError, ValueError, TypeError):
        return None


def running_stack(path: Path = CHECKOUT_FILE) -> StackConnection | None:
    """The stack described by `path` if the process that wrote it is still alive."""
    connection = read_connection(path)
    if connection is None or not _alive(connection.pid):
        return None
    return connection


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True
