"""Keep the local stack's processes running: a child that exits is logged and restarted later.

A crashed consumer is no reason to tear the whole stack down; it is started again after a delay
that doubles with each quick exit (so a child that cannot start does not spin), and that resets
once the child has stayed up for a while.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cli.stack_processes import ProcessSpec
from devstack.process import ManagedProcess


@dataclass(frozen=True)
class Backoff:
    """Delays between restarts: `initial`, doubling per quick exit, at most `maximum` seconds."""

    initial: float = 1.0
    maximum: float = 30.0
    stable_after: float = 60.0
    """A child that ran this long before exiting is restarted after `initial` again."""

    def delay(self, quick_exits: int) -> float:
        """Seconds to wait before the restart that follows `quick_exits` exits in a row (>= 1)."""
        return float(min(self.maximum, self.initial * 2 ** max(0, quick_exits - 1)))


@dataclass
class _Child:
    spec: ProcessSpec
    process: ManagedProcess
    started_at: float
    quick_exits: int = 0
    restart_at: float | None = None
    restarts: int = 0


class Supervisor:
    """Starts each process of the stack, restarts those that exit, and stops them all."""

    def __init__(
        self,
        run_dir: Path,
        *,
        report: Callable[[str], None],
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Children log to `run_dir/<name>.log`; restarts and exits are told to `report`."""
        self._run_dir = run_dir
        self._report = report
        self._backoff = backoff or Backoff()
        self._clock = clock
        self._children: list[_Child] = []

    def launch(self, spec: ProcessSpec) -> ManagedProcess:
        """Start `spec` and keep it running from now on."""
        child = _Child(spec, self._start(spec), self._clock())
        self._children.append(child)
        return child.process

    def restarts(self, name: str) -> int:
        """How many times the process called `name` has been restarted."""
        return sum(child.restarts for child in self._children if child.spec.name == name)

    def current(self, name: str) -> ManagedProcess:
        """The process now running (or last run) as `name`."""
        [child] = [child for child in self._children if child.spec.name == name]
        return child.process

    def poll(self) -> None:
        """Notice exited children and restart those whose delay is over."""
        now = self._clock()
        for child in self._children:
            if child.restart_at is None:
                code = child.process.returncode
                if code is not None:
                    self._schedule(child, code, now)
            elif now >= child.restart_at:
                child.process = self._start(child.spec)
                child.started_at, child.restart_at = now, None
                child.restarts += 1
                self._report(f"{child.spec.name}: restarted (pid {child.process.pid})")

    def stop(self) -> None:
        """Stop every child, newest first."""
        while self._children:
            child = self._children.pop()
            self._report(f"{child.spec.name}: stopping")
            child.process.stop()

    def _schedule(self, child: _Child, code: int, now: float) -> None:
        ran = now - child.started_at
        child.quick_exits = 1 if ran >= self._backoff.stable_after else child.quick_exits + 1
        delay = self._backoff.delay(child.quick_exits)
        child.restart_at = now + delay
        # Closes the exited child's log handle; the restarted one appends to the same file.
        child.process.stop()
        self._report(
            f"{child.spec.name}: exited with code {code} after {ran:.1f}s; "
            f"restarting in {delay:g}s (log: {child.process.log_path})"
        )

    def _start(self, spec: ProcessSpec) -> ManagedProcess:
        return ManagedProcess(
            spec.name, spec.argv, log_path=self._run_dir / f"{spec.name}.log", env=spec.env
        )
