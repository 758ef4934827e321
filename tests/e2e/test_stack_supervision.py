"""`slicewise up` supervises its processes, publishes where it listens, and stops cleanly.

Every stack here runs with TMPDIR pointing at a directory of the test's own, so "no temporary
directory left behind" is checked on exactly what the stack created.
"""

from __future__ import annotations

import os
import pty
import re
import signal
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from cli.stack_connection import CHECKOUT_FILE, read_connection
from devstack.process import wait_until
from tests.e2e.test_local_stack import (
    READY,
    SLICEWISE,
    StackOutput,
    embedded_env,
    start_stack,
    stop_stack,
)

RUN_DIR = re.compile(r"Run directory: (\S+)")
STOPPED = re.compile(r"\[slicewise up\] stopped")


@pytest.fixture
def stack_tmpdir() -> Iterator[Path]:
    """An empty TMPDIR for one stack; readable by the unprivileged user PostgreSQL runs as."""
    path = Path(tempfile.mkdtemp(prefix="slicewise-e2e-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        for leftover in path.iterdir():
            subprocess.run(["rm", "-rf", str(leftover)], check=False)
        path.rmdir()


def _terminal_lines(leader: int) -> Iterator[str]:
    """Lines written to a pseudo-terminal, until its other end is closed."""
    pending = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: every process holding the terminal has exited
            return
        if not chunk:
            return
        *lines, pending = (pending + chunk).split(b"\n")
        yield from (line.decode(errors="replace") + "\n" for line in lines)


def _descendants(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def _stop_all(started: list[psutil.Process]) -> list[psutil.Process]:
    """Wait for every process to end; return (and then kill) those that did not."""
    _, alive = psutil.wait_procs(started, timeout=60)
    for leftover in alive:
        leftover.kill()
    psutil.wait_procs(alive, timeout=10)
    return alive


@pytest.fixture(scope="module")
def running() -> Iterator[tuple[subprocess.Popen[str], StackOutput]]:
    """One stack without the replay, shared by the tests that only look at a running stack."""
    proc = start_stack(["--no-replay"])
    try:
        output = StackOutput(proc.stdout)
        output.wait_for(RUN_DIR, timeout=120)
        yield proc, output
    finally:
        stop_stack(proc)


def test_up_prints_and_publishes_its_connection_details(
    running: tuple[subprocess.Popen[str], StackOutput],
) -> None:
    """Database, Redis and Kafka are printed, and stack.json in the run directory says the same."""
    proc, output = running
    run_dir = Path(output.wait_for(RUN_DIR, timeout=5).group(1))
    connection = read_connection(run_dir / "stack.json")
    assert connection is not None
    assert connection.pid == proc.pid
    assert f"Database: {connection.database_url}" in output.text()
    assert f"Redis: {connection.redis_url}" in output.text()
    assert f"Kafka bootstrap: {connection.kafka_bootstrap}" in output.text()
    assert read_connection(CHECKOUT_FILE) == connection


def test_admin_finds_the_running_stack_without_a_database_url(
    running: tuple[subprocess.Popen[str], StackOutput],
) -> None:
    """`slicewise admin create-tenant` with no URL anywhere creates the tenant in the stack."""
    running[1].wait_for(RUN_DIR, timeout=5)
    name = f"found-{uuid.uuid4().hex[:6]}"
    done = subprocess.run(
        [SLICEWISE, "admin", "create-tenant", name],
        capture_output=True,
        text=True,
        env=embedded_env(),
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout.splitlines()[-1]) == (0, f"name: {name}"), done.stderr


def test_an_explicit_database_url_wins_over_the_running_stack(
    running: tuple[subprocess.Popen[str], StackOutput],
) -> None:
    """`--database-url` pointing nowhere fails, rather than falling back to the stack."""
    running[1].wait_for(RUN_DIR, timeout=5)
    nowhere = "postgresql://postgres@127.0.0.1:1/postgres"
    done = subprocess.run(
        [SLICEWISE, "admin", "--database-url", nowhere, "create-tenant", "never"],
        capture_output=True,
        text=True,
        env=embedded_env(),
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "database error" in done.stderr


def test_a_killed_consumer_is_restarted_and_the_stack_keeps_serving(
    running: tuple[subprocess.Popen[str], StackOutput],
) -> None:
    """kill -9 of the ingest consumer is logged and followed by a restart; the gateway stays up."""
    proc, output = running
    url = output.wait_for(READY, timeout=5).group(1)
    [ingest] = [p for p in _descendants(proc.pid) if p.cmdline()[-2:] == ["workers", "ingest"]]
    ingest.kill()
    output.wait_for(re.compile(r"ingest: exited with code -9"), timeout=30)
    restarted = output.wait_for(re.compile(r"ingest: restarted \(pid (\d+),"), timeout=30)
    process = psutil.Process(int(restarted.group(1)))
    # The kernel lets the starting process go on before the new program's arguments are in
    # place (its command line reads empty for that moment): wait for them.
    wait_until(lambda: bool(process.cmdline()), timeout=10, what="the restarted process's exec")
    assert process.cmdline()[-2:] == ["workers", "ingest"]
    assert proc.poll() is None
    assert httpx.get(f"{url}/healthz", timeout=5).json() == {"status": "ok"}


def test_a_killed_broker_is_restarted_and_the_gateway_is_ready_again(
    running: tuple[subprocess.Popen[str], StackOutput],
) -> None:
    """kill -9 of the embedded broker is logged, it comes back, and /readyz answers 200 again."""
    proc, output = running
    url = output.wait_for(READY, timeout=5).group(1)
    [broker] = [p for p in _descendants(proc.pid) if p.name() == "tansu"]
    broker.kill()
    output.wait_for(re.compile(r"Kafka broker: exited with code -9"), timeout=30)
    output.wait_for(re.compile(r"Kafka broker: restarted \(127\.0\.0\.1:\d+"), timeout=60)

    def ready() -> bool:
        return httpx.get(f"{url}/readyz", timeout=5).status_code == 200

    wait_until(ready, timeout=60, what="the gateway to see the restarted broker")


def test_ctrl_c_in_a_terminal_stops_everything_and_removes_its_directories(
    stack_tmpdir: Path,
) -> None:
    """SIGINT to the foreground group with stdout a terminal: no process, no directory left."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [SLICEWISE, "up", "--port", "0", "--no-replay"],
        stdout=follower,
        stderr=follower,
        env=embedded_env(TMPDIR=str(stack_tmpdir)),
        start_new_session=True,
    )
    os.close(follower)
    started: list[psutil.Process] = []
    try:
        output = StackOutput(_terminal_lines(leader))
        output.wait_for(RUN_DIR, timeout=120)
        started = _descendants(proc.pid)
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(90) == 0
    finally:
        stop_stack(proc)
        os.close(leader)
    assert _stop_all(started) == []
    assert list(stack_tmpdir.iterdir()) == []


def _piped_stack(tmpdir: Path, log: Path) -> subprocess.Popen[str]:
    """`slicewise up | tee LOG` in a shell of its own session, as `make up | tee up.log` runs."""
    return subprocess.Popen(
        ["sh", "-c", f'"{SLICEWISE}" up --port 0 --no-replay | tee "{log}"'],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=embedded_env(TMPDIR=str(tmpdir)),
        start_new_session=True,
    )


def test_ctrl_c_with_output_piped_to_tee_stops_everything_and_removes_its_directories(
    stack_tmpdir: Path, tmp_path: Path
) -> None:
    """`slicewise up | tee up.log`, SIGINT to the group: tee dies first, the stack still stops."""
    shell = _piped_stack(stack_tmpdir, tmp_path / "up.log")
    started: list[psutil.Process] = []
    try:
        StackOutput(shell.stdout).wait_for(RUN_DIR, timeout=120)
        started = _descendants(shell.pid)
        os.killpg(shell.pid, signal.SIGINT)
        shell.wait(90)
    finally:
        stop_stack(shell)
    assert _stop_all(started) == []
    assert list(stack_tmpdir.iterdir()) == []


def test_sigterm_with_output_piped_stops_everything_and_removes_its_directories(
    stack_tmpdir: Path, tmp_path: Path
) -> None:
    """SIGTERM to `slicewise up` alone (as `kill` sends it) with stdout a pipe: nothing is left."""
    log = tmp_path / "up.log"
    shell = _piped_stack(stack_tmpdir, log)
    started: list[psutil.Process] = []
    try:
        StackOutput(shell.stdout).wait_for(RUN_DIR, timeout=120)
        started = _descendants(shell.pid)
        [stack] = [p for p in started if p.cmdline()[1:3] == [SLICEWISE, "up"]]
        stack.terminate()
        shell.wait(90)
    finally:
        stop_stack(shell)
    assert _stop_all(started) == []
    assert list(stack_tmpdir.iterdir()) == []
    assert STOPPED.search(log.read_text())
