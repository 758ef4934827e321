"""Per-container GPU duty cycle and memory series from the Alibaba GenAI trace format.

Each archive holds one CSV of ``value,timestamp_anon,container_ip`` rows (the memory one with
the timestamp first; columns are found by header), one row per container per minute. Any file
of that format works: the series are keyed by the anonymised container id, in time order.
"""

from __future__ import annotations

import csv
import hashlib
import io
import tarfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

DUTY_ARCHIVE = "pod_gpu_duty_cycle_anon.tar.gz"
MEMORY_ARCHIVE = "pod_gpu_memory_used_bytes_anon.tar.gz"
STEP_SECONDS = 60.0


def read_series(archive: Path) -> dict[str, list[float]]:
    """Values per container, ordered by timestamp, from the first CSV in a ``.tar.gz``."""
    rows: dict[str, list[tuple[float, float]]] = defaultdict(list)
    with tarfile.open(archive, "r:gz") as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith(".csv"))
        handle = tar.extractfile(member)
        if handle is None:
            raise ValueError(f"{archive}: {member.name} is not a regular file")
        for row in csv.DictReader(io.TextIOWrapper(handle, encoding="utf-8")):
            rows[row["container_ip"]].append((float(row["timestamp_anon"]), float(row["value"])))
    return {key: [value for _, value in sorted(points)] for key, points in rows.items()}


@dataclass(frozen=True)
class GpuTraces:
    """GPU duty cycle (percent, as the archive holds it) and memory used (bytes) series."""

    duty: dict[str, list[float]]
    memory: dict[str, list[float]]

    @classmethod
    def load(cls, folder: Path) -> GpuTraces:
        """Read both archives from ``folder`` (``../shared/data/alibaba-genai-v2026``)."""
        duty = read_series(folder / DUTY_ARCHIVE)
        memory = read_series(folder / MEMORY_ARCHIVE)
        common = sorted(set(duty) & set(memory))
        if not common:
            raise ValueError(f"{folder}: no container has both duty-cycle and memory series")
        return cls({k: duty[k] for k in common}, {k: memory[k] for k in common})

    def sample(self, workload: str, elapsed_seconds: float) -> tuple[float, float]:
        """(duty cycle, memory bytes) of the trace container assigned to ``workload`` now.

        A workload keeps its container for life (chosen by a hash of its key) and walks its
        series minute by minute, wrapping round at the end.
        """
        keys = sorted(self.duty)
        digest = int.from_bytes(hashlib.sha256(workload.encode()).digest()[:8], "big")
        key = keys[digest % len(keys)]
        duty, memory = self.duty[key], self.memory[key]
        step = int(elapsed_seconds // STEP_SECONDS)
        return duty[step % len(duty)], memory[step % len(memory)]
