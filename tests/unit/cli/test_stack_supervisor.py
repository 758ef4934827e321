"""The supervisor restarts a child that exits, later each time it exits quickly again."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cli.stack_processes import ProcessSpec
from cli.stack_supervisor import Backoff, Supervisor
from devstack.process import ManagedProcess, ServiceError, wait_until


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _exits(code: int) -> ProcessSpec:
    return ProcessSpec("flaky", [sys.executable, "-c", f"raise SystemExit({code})"], env={})


def _wait_exit(process: ManagedProcess) -> None:
    wait_until(lambda: process.returncode is not None, timeout=30, what="the child to exit")


def test_backoff_doubles_per_quick_exit_up_to_its_maximum() -> None:
    """1, 2, 4, 8 ... seconds, never more than the maximum."""
    backoff = Backoff(initial=1, maximum=5)
    assert [backoff.delay(n) for n in range(1, 6)] == [1, 2, 4, 5, 5]


@dataclass
class Supervised:
    """A supervisor on a hand-moved clock, and what it reported."""

    supervisor: Supervisor
    clock: Clock
    reports: list[str]


@pytest.fixture
def supervised(tmp_path: Path) -> Iterator[Supervised]:
    """A supervisor with the default backoff; every child is stopped after the test."""
    clock, reports = Clock(), list[str]()
    supervisor = Supervisor(tmp_path, report=reports.append, backoff=Backoff(), clock=clock)
    try:
        yield Supervised(supervisor, clock, reports)
    finally:
        supervisor.stop()


def test_an_exited_child_is_reported_and_restarted_after_its_delay(
    supervised: Supervised,
) -> None:
    """The exit and its code are logged; the restart waits for the delay, then happens."""
    supervisor, clock = supervised.supervisor, supervised.clock
    _wait_exit(supervisor.launch(_exits(3)))
    supervisor.poll()
    clock.now = 0.5
    supervisor.poll()
    restarts_before_delay = supervisor.restarts("flaky")
    clock.now = 1.0
    supervisor.poll()
    assert (restarts_before_delay, supervisor.restarts("flaky")) == (0, 1)
    exited, restarted = supervised.reports
    assert exited.startswith("flaky: exited with code 3 after 0.0s; restarting in 1s")
    assert restarted.startswith("flaky: restarted (pid ")


def test_quick_exits_in_a_row_wait_longer_each_time(supervised: Supervised) -> None:
    """The second quick exit waits twice as long as the first."""
    supervisor = supervised.supervisor
    _wait_exit(supervisor.launch(_exits(1)))
    supervisor.poll()
    supervised.clock.now = 1.0
    supervisor.poll()
    _wait_exit(supervisor.current("flaky"))
    supervisor.poll()
    exits = [r for r in supervised.reports if "exited" in r]
    assert [r.split("restarting in ")[1].split("s ")[0] for r in exits] == ["1", "2"]


class Unstartable:
    """A service that has exited and cannot be started again (its port is taken, say)."""

    @property
    def exit_code(self) -> int | None:
        return 1

    def restart(self) -> None:
        raise ServiceError("port 9092 is taken")

    def where(self) -> str:
        return "127.0.0.1:9092"


def test_a_failed_restart_is_reported_and_tried_again_later(supervised: Supervised) -> None:
    """A restart that raises ServiceError is logged and retried after a longer delay."""
    supervisor, clock = supervised.supervisor, supervised.clock
    supervisor.watch("broker", Unstartable())
    supervisor.poll()
    clock.now = 1.0
    supervisor.poll()
    assert supervised.reports == [
        "broker: exited with code 1 after 0.0s; restarting in 1s (127.0.0.1:9092)",
        (
            "broker: could not restart (port 9092 is taken) after 0.0s; restarting in 2s "
            "(127.0.0.1:9092)"
        ),
    ]
