"""A local S3-compatible server (npm `s3rver`, pinned) that keeps its objects in a directory.

It exists for the embedded Kafka-API broker: the bundled Tansu has no durable storage engine but
`s3://`, so the local stack points it here and the broker's log survives a broker restart.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from devstack.process import ManagedProcess, ServiceError, free_port

INSTALLER = Path(__file__).resolve().parent / "install-s3rver.sh"
ACCESS_KEY = "S3RVER"
"""s3rver accepts this fixed key pair (id and secret alike) and no other."""
REGION = "us-east-1"


def s3rver_binary() -> Path:
    """Path of the pinned s3rver, installed into the user's cache on first use."""
    try:
        done = subprocess.run(
            ["bash", str(INSTALLER)], capture_output=True, text=True, check=True, timeout=300
        )
    except (OSError, subprocess.SubprocessError) as e:
        detail = getattr(e, "stderr", "") or str(e)
        raise ServiceError(f"could not install s3rver with {INSTALLER}: {detail}") from e
    return Path(done.stdout.strip().splitlines()[-1])


@dataclass(frozen=True)
class S3Endpoint:
    """How a client reaches the server: endpoint URL, bucket and the fixed credentials."""

    url: str
    bucket: str

    def client_env(self) -> dict[str, str]:
        """Environment variables the AWS SDKs (and Tansu's object store) read."""
        return {
            "AWS_ENDPOINT": self.url,
            "AWS_ALLOW_HTTP": "true",
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": ACCESS_KEY,
            "AWS_DEFAULT_REGION": REGION,
        }


class EmbeddedS3:
    """s3rver on 127.0.0.1:<free port> serving one bucket from `data_dir`."""

    def __init__(self, data_dir: Path, bucket: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.endpoint = S3Endpoint(f"http://127.0.0.1:{self.port}", bucket)
        self._process: ManagedProcess | None = None

    def start(self, timeout: float = 30.0) -> None:
        """Start the server (creating the bucket if new) and wait until it accepts connections."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._process = ManagedProcess(
            "s3rver",
            [
                str(s3rver_binary()),
                "--directory",
                str(self.data_dir),
                "--address",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--silent",
                "--configure-bucket",
                self.endpoint.bucket,
            ],
            log_path=self.data_dir.parent / "s3rver.log",
        )
        self._process.wait_for_port(
            "127.0.0.1", self.port, timeout=timeout, what="local S3 server (s3rver)"
        )

    @property
    def exit_code(self) -> int | None:
        """The server's exit status once it has exited, None while it runs or before start."""
        return None if self._process is None else self._process.returncode

    @property
    def started(self) -> bool:
        """Whether `start()` has run and `stop()` has not."""
        return self._process is not None

    def stop(self) -> None:
        """Stop the server; the data directory stays (its owner removes it)."""
        if self._process is not None:
            self._process.stop()
            self._process = None
