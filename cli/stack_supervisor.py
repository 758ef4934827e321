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
from typing import Protocol

from cli.stack_processes import ProcessSpec
from devstack.process import ManagedProcess, ServiceError


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


class Restartable(Protocol):
    """A child the supervisor keeps running: a process of the product or an embedded service."""

    @property
    def exit_code(self) -> int | None:
        """Its exit status once it has exited, None while it runs."""
        ...

    def restart(self) -> None:
        """Start it again (raising ServiceError if it cannot)."""
        ...

    def where(self) -> str:
        """Where to look: its pid or address, and its log."""
        ...


class _ProductProcess:
    """A process of the product, started from its spec; a restart is a new process."""

    def __init__(self, spec: ProcessSpec, run_dir: Path) -> None:
        self._spec = spec
        self._log = run_dir / f"{spec.name}.log"
        self.process = self._start()

    @property
    def exit_code(self) -> int | None:
        return self.process.returncode

    def restart(self) -> None:
        # Reaps the exited leader and kills what it left in its group (a Celery pool, say);
        # the new process appends to the same log.
        self.process.stop()
        self.process = self._start()

    def where(self) -> str:
        return f"pid {self.process.pid}, log: {self.process.log_path}"

    def stop(self) -> None:
        self.process.stop()

    def _start(self) -> ManagedProcess:
        spec = self._spec
        return ManagedProcess(spec.name, spec.argv, log_path=self._log, env=spec.env)


@dataclass
class _Child:
    name: str
    target: Restartable
    started_at: float
    owned: _ProductProcess | None
    """Set for the processes the supervisor started itself (and so stops)."""
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
        process = _ProductProcess(spec, self._run_dir)
        self._children.append(_Child(spec.name, process, self._clock(), owned=process))
        return process.process

    def watch(self, name: str, service: Restartable) -> None:
        """Keep `service`, started and stopped by its owner, running from now on."""
        self._children.append(_Child(name, service, self._clock(), owned=None))

    def current(self, name: str) -> ManagedProcess:
        """The process now running (or last run) as `name`."""
        [owned] = [c.owned for c in self._children if c.name == name and c.owned is not None]
        return owned.process

    def restarts(self, name: str) -> int:
        """How many times the child called `name` has been restarted."""
        return sum(child.restarts for child in self._children if child.name == name)

    def poll(self) -> None:
        """Notice exited children and restart those whose delay is over."""
        now = self._clock()
        for child in self._children:
            if child.restart_at is None:
                code = child.target.exit_code
                if code is not None:
                    self._schedule(child, f"exited with code {code}", now)
            elif now >= child.restart_at:
                self._restart(child, now)

    def stop(self) -> None:
        """Stop every process the supervisor started, newest first."""
        while self._children:
            child = self._children.pop()
            if child.owned is not None:
                self._report(f"{child.name}: stopping")
                child.owned.stop()

    def _restart(self, child: _Child, now: float) -> None:
        child.started_at, child.restart_at = now, None
        child.restarts += 1
        try:
            child.target.restart()
        except ServiceError as e:
            self._schedule(child, f"could not restart ({e})", now)
            return
        self._report(f"{child.name}: restarted ({child.target.where()})")

    def _schedule(self, child: _Child, what: str, now: float) -> None:
        ran = now - child.started_at
        child.quick_exits = 1 if ran >= self._backoff.stable_after else child.quick_exits + 1
        delay = self._backoff.delay(child.quick_exits)
        child.restart_at = now + delay
        self._report(
            f"{child.name}: {what} after {ran:.1f}s; restarting in {delay:g}s "
            f"({child.target.where()})"
        )
