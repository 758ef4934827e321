"""`bench.database_cpu`: the CPU of one database's PostgreSQL backends, from /proc."""

from __future__ import annotations

import os
from pathlib import Path

from bench.database_cpu import backend_cpu_seconds


def _process(proc: Path, pid: int, title: bytes, utime: int, stime: int) -> None:
    where = proc / str(pid)
    where.mkdir()
    (where / "cmdline").write_bytes(title + b"\0" * 8)
    # Fields after the name: state, then 10 others, then utime and stime (stat(5) 14 and 15).
    after = ["S", *["0"] * 10, str(utime), str(stime), "0"]
    (where / "stat").write_text(f"{pid} (postgres) {' '.join(after)}\n")


def test_sums_the_backends_of_the_named_database_only(tmp_path: Path) -> None:
    tick = os.sysconf("SC_CLK_TCK")
    _process(tmp_path, 10, b"postgres: app bench_db 127.0.0.1(5001) idle", tick, tick)
    # A server with a cluster name (Debian's "15/main") puts it first.
    _process(tmp_path, 11, b"postgres: 15/main: app bench_db 127.0.0.1(5002) idle", 2 * tick, 0)
    _process(tmp_path, 12, b"postgres: app other_db 127.0.0.1(5003) idle", 50 * tick, 0)
    _process(tmp_path, 13, b"postgres: checkpointer ", 70 * tick, 0)
    _process(tmp_path, 14, b"python -m bench_db", 90 * tick, 0)
    assert backend_cpu_seconds("bench_db", tmp_path) == 4.0


def test_none_when_no_backend_of_the_database_is_visible(tmp_path: Path) -> None:
    _process(tmp_path, 10, b"postgres: app other_db 127.0.0.1(5003) idle", 5, 5)
    assert backend_cpu_seconds("bench_db", tmp_path) is None
