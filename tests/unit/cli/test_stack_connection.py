"""`slicewise up` publishes its connection details; `slicewise admin` finds the running stack."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from cli.admin import database_url
from cli.stack_connection import StackConnection, read_connection, running_stack


def _connection(run_dir: Path, pid: int) -> StackConnection:
    return StackConnection(
        pid=pid,
        run_dir=str(run_dir),
        database_url="postgresql://postgres@127.0.0.1:5999/postgres",
        app_database_url="postgresql://slicewise_app@127.0.0.1:5999/postgres",
        redis_url="redis://127.0.0.1:6999/0",
        kafka_bootstrap="127.0.0.1:9999",
        gateway_url="http://127.0.0.1:8999",
    )


def _exited_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture
def checkout_file(tmp_path: Path) -> Path:
    """Where the checkout's copy goes in these tests."""
    return tmp_path / "checkout" / ".slicewise" / "stack.json"


def test_publish_writes_private_files_in_the_run_directory_and_the_checkout(
    tmp_path: Path, checkout_file: Path
) -> None:
    """Both copies hold the same details and only their owner may read them."""
    connection = _connection(tmp_path, os.getpid())
    in_run_dir = connection.publish(checkout_file)
    assert in_run_dir == tmp_path / "stack.json"
    assert read_connection(in_run_dir) == read_connection(checkout_file) == connection
    assert {stat.S_IMODE(p.stat().st_mode) for p in (in_run_dir, checkout_file)} == {0o600}


def test_a_stack_whose_process_has_gone_is_not_running(tmp_path: Path, checkout_file: Path) -> None:
    """Details left behind by a process that no longer exists are ignored."""
    _connection(tmp_path, _exited_pid()).publish(checkout_file)
    assert running_stack(checkout_file) is None


def test_withdraw_keeps_the_file_of_a_newer_stack(tmp_path: Path, checkout_file: Path) -> None:
    """A stack that stops removes the checkout's copy only if it is still its own."""
    older = _connection(tmp_path, os.getpid())
    older.publish(checkout_file)
    newer = _connection(tmp_path / "newer", os.getpid())
    (tmp_path / "newer").mkdir()
    newer.publish(checkout_file)
    older.withdraw(checkout_file)
    assert read_connection(checkout_file) == newer


def test_admin_uses_the_running_stack_before_the_environment(
    tmp_path: Path, checkout_file: Path
) -> None:
    """With a live stack published, admin connects to its database as the application role."""
    _connection(tmp_path, os.getpid()).publish(checkout_file)
    env = {"DATABASE_URL": "postgresql://postgres@elsewhere:5432/postgres"}
    url = database_url(None, env, checkout_file)
    assert url == "postgresql://slicewise_app@127.0.0.1:5999/postgres"


def test_an_explicit_database_url_wins_over_the_running_stack(
    tmp_path: Path, checkout_file: Path
) -> None:
    """`--database-url` is used as given even while a stack runs."""
    _connection(tmp_path, os.getpid()).publish(checkout_file)
    assert database_url("postgresql://x@y/z", {}, checkout_file) == "postgresql://x@y/z"


def test_admin_without_stack_or_environment_has_no_database(checkout_file: Path) -> None:
    """No flag, no live stack and no variable: there is nothing to connect to."""
    assert database_url(None, {}, checkout_file) is None
