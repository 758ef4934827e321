"""Read Bitbrains-format VM traces: one file per VM (and month), `;\\t`-separated rows.

Columns: timestamp (seconds, although the header says ms), CPU cores, CPU capacity provisioned
[MHz], CPU usage [MHz], CPU usage [%], memory capacity provisioned [KB], memory usage [KB], ...
Files with the same name in different folders (`2013-7/1.csv.gz`, `2013-8/1.csv.gz`) are the
same VM: their rows are concatenated and sorted by time.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

KIB = 1024
_COLUMNS = 7


@dataclass(frozen=True, slots=True)
class VmSeries:
    """One VM's samples, in time order."""

    vm: str
    seconds: NDArray[np.float64]
    cpu_cores: NDArray[np.float64]
    """Provisioned cores."""
    cpu_used: NDArray[np.float64]
    """Cores in use."""
    memory_bytes: NDArray[np.float64]
    """Provisioned memory."""
    memory_used: NDArray[np.float64]


def vm_id(path: Path) -> str:
    """The VM a file belongs to: its name without `.csv` / `.csv.gz`."""
    name = path.name
    for suffix in (".gz", ".csv"):
        name = name.removesuffix(suffix)
    return name


def trace_files(root: Path) -> dict[str, list[Path]]:
    """Trace files under `root`, recursively, grouped by VM."""
    found: dict[str, list[Path]] = {}
    for path in sorted([*root.rglob("*.csv.gz"), *root.rglob("*.csv")]):
        found.setdefault(vm_id(path), []).append(path)
    return found


def _rows(path: Path) -> NDArray[np.float64]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt") as handle:
        return np.loadtxt(
            handle, delimiter=";", skiprows=1, usecols=range(_COLUMNS), ndmin=2, dtype=np.float64
        )


def load_vm(vm: str, paths: list[Path]) -> VmSeries:
    """Concatenate and sort one VM's files."""
    rows = np.concatenate([_rows(p) for p in paths]) if paths else np.zeros((0, _COLUMNS))
    rows = rows[np.argsort(rows[:, 0], kind="stable")]
    cores = rows[:, 1]
    mhz_per_core = np.divide(rows[:, 2], cores, out=np.zeros_like(cores), where=cores > 0)
    from_mhz = np.divide(rows[:, 3], mhz_per_core, out=np.zeros_like(cores), where=mhz_per_core > 0)
    # Where capacity is missing the usage percentage is the only figure left.
    used = np.where(mhz_per_core > 0, from_mhz, rows[:, 4] / 100.0 * cores)
    return VmSeries(
        vm=vm,
        seconds=rows[:, 0],
        cpu_cores=cores,
        cpu_used=np.nan_to_num(used, nan=0.0, posinf=0.0),
        memory_bytes=rows[:, 5] * KIB,
        memory_used=rows[:, 6] * KIB,
    )


def iter_vms(root: Path, limit: int | None = None) -> Iterator[VmSeries]:
    """Every VM under `root` (the first `limit` by name)."""
    groups = trace_files(root)
    names = sorted(groups, key=lambda n: (len(n), n))
    for name in names[:limit] if limit is not None else names:
        yield load_vm(name, groups[name])


def tuning_half(names: list[str], parity: str = "odd") -> set[str]:
    """The VMs parameters are chosen on: those with an odd (or even) id.

    Numeric ids split by their own parity, so the halves do not depend on which files are
    present; other names split by their position in natural order.
    """
    remainder = 1 if parity == "odd" else 0
    if all(name.isdigit() for name in names):
        return {name for name in names if int(name) % 2 == remainder}
    ordered = sorted(names, key=lambda n: (len(n), n))
    return {name for i, name in enumerate(ordered, start=1) if i % 2 == remainder}
