"""An embedded PostgreSQL server from the binaries of the `pgserver` package."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from devstack.packaged import packaged_binary
from devstack.process import ManagedProcess, ServiceError, free_port

# PostgreSQL refuses to run as root; when we are root the server runs as this existing,
# unprivileged system account instead.
_UNPRIVILEGED_USER = "nobody"
_HINT = "DATABASE_URL is not set and the embedded PostgreSQL is unavailable: run `make install`"


class EmbeddedPostgres:
    """initdb + postgres on 127.0.0.1:<free port>, trust auth, superuser `postgres`."""

    def __init__(self, base_dir: Path | None = None) -> None:
        self._tmp = Path(tempfile.mkdtemp(prefix="slicewise-pg-", dir=base_dir))
        self.port = free_port()
        self._process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        """Connection URL for the superuser, database `postgres`."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self, timeout: float = 60.0) -> None:
        """Initialise a data directory and start the server; wait until it accepts connections."""
        bin_dir = packaged_binary("pgserver", "pginstall/bin/postgres", hint=_HINT).parent
        data = self._tmp / "data"
        data.mkdir()
        user = None
        if os.geteuid() == 0:
            user = _UNPRIVILEGED_USER
            entry = pwd.getpwnam(user)
            self._tmp.chmod(0o755)
            os.chown(data, entry.pw_uid, entry.pw_gid)
        log = self._tmp / "postgres.log"
        log.touch()
        if user is not None:
            os.chown(log, pwd.getpwnam(user).pw_uid, -1)
        init = subprocess.run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            ],
            capture_output=True,
            text=True,
            user=user,
            cwd=self._tmp,
            timeout=timeout,
            check=False,
        )
        if init.returncode != 0:
            raise ServiceError(f"initdb failed ({init.returncode}):\n{init.stderr[-2000:]}")
        self._process = ManagedProcess(
            "postgres",
            [
                str(bin_dir / "postgres"),
                "-D",
                str(data),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-k",
                str(data),
                "-c",
                "fsync=off",
                "-c",
                "max_connections=200",
            ],
            log_path=log,
            user=user,
            cwd=self._tmp,
        )

        self._process.wait_for_port(
            "127.0.0.1", self.port, timeout=timeout, what="embedded PostgreSQL"
        )

    def stop(self) -> None:
        """Stop the server and remove its data directory."""
        if self._process is not None:
            self._process.stop()
            self._process = None
        shutil.rmtree(self._tmp, ignore_errors=True)
