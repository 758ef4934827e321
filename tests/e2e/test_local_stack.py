"""`slicewise up` reaches a healthy gateway and Ctrl-C stops every process it started."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import psutil
import pytest

READY = re.compile(r"Gateway: (http://127\.0\.0\.1:\d+)")


class StackOutput:
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

    def text(self) -> str:
        with self._changed:
            return "".join(self.lines)


SLICEWISE = str(Path(sys.executable).parent / "slicewise")


def embedded_env(**extra: str) -> dict[str, str]:
    """This environment without service URLs, so `slicewise up` starts its own services."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "KAFKA_BOOTSTRAP", "SLICEWISE_DATABASE_URL"}
    }
    return {**env, **extra}


def start_stack(args: Sequence[str]) -> subprocess.Popen[str]:
    """`slicewise up` replaying its cluster, on embedded defaults (service URLs removed)."""
    env = embedded_env()
    return subprocess.Popen(
        [SLICEWISE, "up", "--port", "0", "--cluster", "replay", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )


def stop_stack(proc: subprocess.Popen[str] | subprocess.Popen[bytes]) -> None:
    """Stop the stack as Ctrl-C does; kill whatever it left behind; reap it.

    Its processes run in sessions of their own, so they are collected before the stack is
    signalled and killed one by one if they outlive it.
    """
    descendants: list[psutil.Process] = []
    if proc.poll() is None:
        descendants = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    _, alive = psutil.wait_procs(descendants, timeout=10)
    for leftover in alive:
        leftover.kill()
    psutil.wait_procs(alive, timeout=10)
    if proc.stdout is not None:
        proc.stdout.close()


@pytest.fixture
def stack() -> Iterator[tuple[subprocess.Popen[str], StackOutput]]:
    """The stack with a small replay (so Ctrl-C also has to stop the replaying agent)."""
    proc = start_stack(["--fast"])
    try:
        yield proc, StackOutput(proc.stdout)
    finally:
        stop_stack(proc)


def test_up_serves_healthz_and_ctrl_c_stops_everything(
    stack: tuple[subprocess.Popen[str], StackOutput],
) -> None:
    """The gateway answers /healthz within 60 s; SIGINT leaves no process behind."""
    proc, lines = stack
    url = lines.wait_for(READY, timeout=60).group(1)
    assert httpx.get(f"{url}/healthz", timeout=5).json() == {"status": "ok"}
    started = psutil.Process(proc.pid).children(recursive=True)
    assert started, "the stack started no processes"
    proc.send_signal(signal.SIGINT)
    assert proc.wait(60) == 0
    _, alive = psutil.wait_procs(started, timeout=10)
    assert alive == []
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/healthz", timeout=2)


def test_up_without_data_starts_everything_and_says_the_replay_is_off(tmp_path: Path) -> None:
    """A missing data folder turns the replay off, names what is missing, and starts the rest."""
    proc = start_stack(["--data", str(tmp_path / "absent")])
    try:
        lines = StackOutput(proc.stdout)
        lines.wait_for(READY, timeout=60)
        off = lines.wait_for(re.compile(r"Replay: off, the data is missing: (\S+)"), timeout=5)
        assert off.group(1).startswith(str(tmp_path / "absent"))
        assert "replay: starting" not in lines.text()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0
    finally:
        stop_stack(proc)
