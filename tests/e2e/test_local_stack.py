"""`slicewise up` reaches a healthy gateway and Ctrl-C stops every process it started."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

_READY = re.compile(r"Gateway: (http://127\.0\.0\.1:\d+)")


class _Lines:
    """Collects a child's stdout lines on a thread so the test can wait on them with a timeout."""

    def __init__(self, stream: object) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()

    def wait_for(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        with self._changed:
            found: list[re.Match[str]] = []

            def seen() -> bool:
                found[:] = [m for line in self.lines if (m := pattern.search(line))]
                return bool(found)

            if not self._changed.wait_for(seen, timeout):
                raise AssertionError("not seen in time:\n" + "".join(self.lines))
            return found[0]


@pytest.fixture
def stack() -> Iterator[tuple[subprocess.Popen[str], _Lines]]:
    """`slicewise up` on embedded defaults (service URLs removed from the environment)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "KAFKA_BOOTSTRAP"}
    }
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "slicewise"), "up", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        yield proc, _Lines(proc.stdout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
        if proc.stdout is not None:
            proc.stdout.close()


def test_up_serves_healthz_and_ctrl_c_stops_everything(
    stack: tuple[subprocess.Popen[str], _Lines],
) -> None:
    """The gateway answers /healthz within 60 s; SIGINT leaves no process behind."""
    proc, lines = stack
    url = lines.wait_for(_READY, timeout=60).group(1)
    assert httpx.get(f"{url}/healthz", timeout=5).json() == {"status": "ok"}
    started = psutil.Process(proc.pid).children(recursive=True)
    assert started, "the stack started no processes"
    proc.send_signal(signal.SIGINT)
    assert proc.wait(60) == 0
    _, alive = psutil.wait_procs(started, timeout=10)
    assert alive == []
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/healthz", timeout=2)
