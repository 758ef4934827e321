"""Read node and pod lists of the Alibaba GPU-sharing trace format (columns found by header)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from recommender.gpu.placement.tables import NodeTable, PodTable, build_node_table, build_pod_table


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _int(value: str | None) -> int:
    return int(float(value)) if value else 0


def read_nodes(path: Path) -> NodeTable:
    """Nodes of a `sn,cpu_milli,memory_mib,gpu,model` list."""
    rows = _rows(path)
    return build_node_table(
        names=[row["sn"] for row in rows],
        cpu_milli=[_int(row["cpu_milli"]) for row in rows],
        memory_mib=[_int(row.get("memory_mib")) for row in rows],
        gpu_count=[_int(row.get("gpu")) for row in rows],
        model=[row.get("model") or "" for row in rows],
    )


def read_pods(path: Path, models: Sequence[str]) -> PodTable:
    """Pods of a `name,cpu_milli,memory_mib,num_gpu,gpu_milli[,gpu_spec,...]` list, by name."""
    rows = sorted(_rows(path), key=lambda row: row["name"])
    return build_pod_table(
        names=[row["name"] for row in rows],
        cpu_milli=[_int(row["cpu_milli"]) for row in rows],
        memory_mib=[_int(row.get("memory_mib")) for row in rows],
        num_gpu=[_int(row.get("num_gpu")) for row in rows],
        gpu_milli=[_int(row.get("gpu_milli")) for row in rows],
        gpu_spec=[row.get("gpu_spec") or "" for row in rows],
        models=models,
    )
