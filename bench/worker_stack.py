"""What the workers bench runs on: a scratch database, topics, and ingest worker processes."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import URL

from devstack.process import ManagedProcess, free_port
from store.migrate import upgrade
from store.roles import DEFAULT_APP_ROLE, app_url
from store.scratch import create_scratch_database, drop_scratch_database
from workers.settings import WorkerSettings


@asynccontextmanager
async def scratch_database(server_url: str) -> AsyncIterator[URL]:
    """A fresh migrated database on the server for one bench run; yields the app role's URL."""
    owner = await create_scratch_database(server_url, "slicewise_bench")
    try:
        await asyncio.to_thread(upgrade, owner)
        yield app_url(owner, DEFAULT_APP_ROLE)
    finally:
        await drop_scratch_database(owner, server_url)


async def scrape(port: int) -> dict[str, float]:
    """Sample name -> summed value on a worker's /metrics (empty if it does not answer yet)."""
    try:
        async with httpx.AsyncClient() as client:
            body = (await client.get(f"http://127.0.0.1:{port}/metrics", timeout=5)).text
    except httpx.HTTPError:
        return {}
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            values[sample.name] = values.get(sample.name, 0.0) + sample.value
    return values


def _env(settings: WorkerSettings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLICEWISE_")}
    for name, value in settings.model_dump().items():
        if value is not None:
            env[f"SLICEWISE_WORKER_{name.upper()}"] = str(value)
    return env


class WorkerFleet:
    """`count` ingest worker processes of one consumer group."""

    def __init__(self, base: WorkerSettings, count: int, log_dir: Path) -> None:
        """Configure (but not start) the processes."""
        self.settings = [
            base.model_copy(
                update={"client_id": f"{base.client_id}-{i}", "metrics_port": free_port()}
            )
            for i in range(count)
        ]
        self._log_dir = log_dir
        self._processes: list[ManagedProcess] = []

    def start(self) -> None:
        """Start every process."""
        for settings in self.settings:
            self._processes.append(
                ManagedProcess(
                    settings.client_id,
                    [sys.executable, "-m", "workers", "ingest"],
                    log_path=self._log_dir / f"{settings.client_id}.log",
                    env=_env(settings),
                )
            )

    async def wait_assigned(self, partitions: int, within: float = 90.0) -> None:
        """Wait until each process owns a partition and together they own all of them."""
        deadline = time.monotonic() + within
        while True:
            self.check_alive()
            counts = [
                (await scrape(s.metrics_port)).get("slicewise_worker_assigned_partitions", 0.0)
                for s in self.settings
            ]
            if sum(counts) == partitions and all(c >= 1 for c in counts):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"partitions not assigned after {within:.0f}s: {counts}")
            await asyncio.sleep(0.2)

    def check_alive(self) -> None:
        """Raise ServiceError with the log tail of a process that exited."""
        for process in self._processes:
            process.check_alive()

    def cpu_seconds(self) -> float:
        """User plus system CPU time the processes have used so far (from /proc)."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for process in self._processes:
            fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            # utime and stime are fields 14 and 15 of stat(5); index 11 and 12 after the name.
            total += (int(fields[11]) + int(fields[12])) / ticks
        return total

    async def processed(self) -> list[float]:
        """Messages each process has handled so far."""
        return [
            (await scrape(s.metrics_port)).get("slicewise_worker_messages_total", 0.0)
            for s in self.settings
        ]

    def stop(self) -> None:
        """Stop every process (SIGTERM, then SIGKILL)."""
        while self._processes:
            self._processes.pop().stop()

    def log_tails(self) -> Sequence[str]:
        """The end of each process's log, for error reports."""
        return [p.log_tail() for p in self._processes]
