"""The evidence behind a recommendation, as charts and figures.

Two sources: the usage histograms the workers keep per container (CPU, memory peaks, GPU
memory), drawn against the current and proposed requests; and the `evidence` the recommender
wrote into the recommendation (GPU utilisation percentiles, the spot interruption bucket, prices),
drawn where its shape is recognised and listed as figures otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from gateway.console.charts import Marker, bar_chart, distribution_chart, scale_chart
from gateway.console.demand_chart import day_charts, is_day_chart
from gateway.console.formatting import cores, money, percent, size_bytes
from gateway.console.usage_reader import ContainerUsage, Distribution
from protocol.changes import ChangeSet, PatchResources, WorkloadRef
from protocol.snapshot import Workload

INTERRUPTION_BUCKETS = ("<5%", "5-10%", "10-15%", "15-20%", ">20%")
"""The interruption-frequency buckets of AWS's Spot Instance Advisor."""


@dataclass(frozen=True)
class Figure:
    """A named value as the console prints it."""

    name: str
    value: str


@dataclass(frozen=True)
class EvidencePanel:
    """A titled chart with the figures that go with it."""

    title: str
    chart: Markup | None
    figures: list[Figure] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    """A table of figures (one row per container, say) when the evidence is a list of records."""


_ACRONYMS = {
    "gpu": "GPU",
    "gpus": "GPUs",
    "cpu": "CPU",
    "mig": "MIG",
    "oom": "OOM",
    "pdb": "PDB",
    "qos": "QoS",
}


def _humanise(key: str) -> str:
    text = key.replace("_", " ").strip()
    for unit in (" usd", " bytes", " cores", " seconds", " millis"):
        text = text.removesuffix(unit)
    words = [_ACRONYMS.get(word.lower(), word) for word in text.split(" ")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def _statistic_order(name: str) -> tuple[float, str]:
    # JSONB stores keys in its own order; percentiles read best from low to high.
    lowered = name.lower()
    if lowered.startswith("p") and lowered[1:].replace(".", "", 1).isdigit():
        return float(lowered[1:]), name
    return {"min": -1.0, "mean": 50.5, "avg": 50.5, "max": 1000.0}.get(lowered, 2000.0), name


_UNIT_SUFFIXES: dict[str, Callable[[float], str]] = {
    "_usd": lambda v: money(v, cents=abs(v) < 100),
    "_millis": lambda v: cores(v / 1000),
    "_bytes": size_bytes,
    "_cores": cores,
    "_seconds": lambda v: (
        f"{v / 86400:.1f} days"
        if v >= 2 * 86400
        else f"{v / 3600:.1f} h"
        if v >= 3600
        else f"{v:g} s"
    ),
}
_FRACTION_WORDS = ("util", "share", "fraction", "ratio", "discount", "confidence")


def _format_number(key: str, value: float) -> str:
    lowered = key.lower()
    for suffix, write in _UNIT_SUFFIXES.items():
        if lowered.endswith(suffix):
            return write(value)
    if any(word in lowered for word in _FRACTION_WORDS) and 0 <= value <= 1:
        return percent(value, 1)
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.3g}"


def format_value(key: str, value: Any) -> str:
    """A value of the evidence, formatted by what its key says it is."""
    if isinstance(value, bool) or value is None:
        return {True: "yes", False: "no", None: "—"}[value]
    if isinstance(value, int | float):
        return _format_number(key, float(value))
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return ", ".join(str(v) for v in value) or "—"
    return json.dumps(value, sort_keys=True)


def _numeric_map(value: Any) -> dict[str, float] | None:
    if not isinstance(value, Mapping) or not value:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value.values()):
        return None
    ordered = sorted(value.items(), key=lambda item: _statistic_order(str(item[0])))
    return {str(k): float(v) for k, v in ordered}


def _records(value: Any) -> list[dict[str, Any]] | None:
    if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
        return None
    return [dict(v) for v in value]


def _column_order(key: str) -> int:
    # JSONB stores keys in its own order: put the name first, then now, then proposed.
    if key in {"container", "name", "node", "workload"}:
        return 0
    if key.startswith("current"):
        return 1
    return 2 if key.startswith("target") else 3


def _table_panel(title: str, records: list[dict[str, Any]]) -> EvidencePanel:
    columns: list[str] = []
    for record in records:
        columns.extend(key for key in record if key not in columns)
    columns.sort(key=_column_order)
    rows = [[format_value(key, record.get(key)) for key in columns] for record in records]
    return EvidencePanel(title, None, columns=[_humanise(c) for c in columns], rows=rows)


def _interruption_index(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 5:
        return value
    if isinstance(value, str):
        compact = value.replace(" ", "").replace("\u2013", "-")
        if compact in INTERRUPTION_BUCKETS:
            return INTERRUPTION_BUCKETS.index(compact)
    return None


def _fraction_label(value: float) -> str:
    return percent(value, 1)


def _key_label(key: str) -> Callable[[float], str]:
    return lambda value: _format_number(key, value)


def recommendation_panels(evidence: Mapping[str, Any]) -> list[EvidencePanel]:
    """Charts for the recognised parts of a recommendation's evidence, figures for the rest."""
    panels: list[EvidencePanel] = []
    figures: list[Figure] = []
    for key, value in evidence.items():
        title = _humanise(key)
        if is_day_chart(value):
            panels += [EvidencePanel(title, chart) for chart in day_charts(value)]
            continue
        if "interruption" in key.lower() and (index := _interruption_index(value)) is not None:
            chart = scale_chart(INTERRUPTION_BUCKETS, index, title=title)
            panels.append(EvidencePanel(title, chart, [Figure(title, INTERRUPTION_BUCKETS[index])]))
            continue
        records = _records(value)
        if records is not None:
            panels.append(_table_panel(title, records))
            continue
        numbers = _numeric_map(value)
        if numbers is not None:
            fractions = all(0 <= v <= 1 for v in numbers.values()) and "util" in key.lower()
            label = _fraction_label if fractions else _key_label(key)
            chart = bar_chart(
                list(numbers.items()), title=title, label=label, maximum=1.0 if fractions else None
            )
            panels.append(
                EvidencePanel(title, chart, [Figure(k, label(v)) for k, v in numbers.items()])
            )
            continue
        figures.append(Figure(title, format_value(key, value)))
    if figures:
        panels.append(EvidencePanel("Figures", None, figures))
    return panels


def _requests(workload: Workload | None, container: str) -> tuple[int | None, int | None]:
    if workload is None:
        return None, None
    for spec in workload.template.containers:
        if spec.name == container:
            return spec.requests.cpu_millis, spec.requests.memory_bytes
    return None, None


def _proposed(
    change_set: ChangeSet, container: str, target: WorkloadRef | None = None
) -> tuple[int | None, int | None]:
    cpu = memory = None
    for action in change_set.actions:
        if isinstance(action, PatchResources) and (target is None or action.target == target):
            for wanted in action.containers:
                if wanted.container == container:
                    cpu = wanted.requests.cpu_millis or cpu
                    memory = wanted.requests.memory_bytes or memory
    return cpu, memory


def _markers(
    distribution: Distribution, current: float | None, proposed: float | None, kinds: Sequence[str]
) -> list[Marker]:
    figures = distribution.percentiles()
    markers = [Marker(figures[k], k, "percentile") for k in kinds]
    if current:
        markers.append(Marker(current, "request now", "current"))
    if proposed:
        markers.append(Marker(proposed, "proposed", "proposed"))
    return markers


def usage_panels(
    usage: ContainerUsage,
    workload: Workload | None,
    change_set: ChangeSet,
    *,
    subject: str | None = None,
    target: WorkloadRef | None = None,
) -> list[EvidencePanel]:
    """CPU, daily memory peak and GPU memory distributions of one container.

    `subject` names the container in titles (say `ns/workload · container` when a plan
    charts several workloads); the container's name by default. `target` limits the proposed
    requests to the change's patches of that workload.
    """
    cpu_now, memory_now = _requests(workload, usage.container)
    cpu_new, memory_new = _proposed(change_set, usage.container, target)
    name = subject or usage.container
    cpu_markers = _markers(
        usage.cpu,
        None if cpu_now is None else cpu_now / 1000,
        None if cpu_new is None else cpu_new / 1000,
        ("p50", "p95"),
    )
    memory_markers = _markers(
        usage.memory_peaks,
        None if memory_now is None else float(memory_now),
        None if memory_new is None else float(memory_new),
        ("p95", "max"),
    )
    cpu = usage.cpu.percentiles()
    peaks = usage.memory_peaks.percentiles()
    panels = [
        EvidencePanel(
            f"CPU usage of container {name}",
            distribution_chart(
                usage.cpu, title=f"CPU usage of {name}", markers=cpu_markers, label=cores
            ),
            [Figure(k, cores(v)) for k, v in cpu.items()]
            + [
                Figure("samples", f"{usage.samples:,}"),
                Figure("history", f"{usage.history_seconds / 86400:.1f} days"),
                Figure("throttled samples", percent(usage.throttled_share, 1)),
            ],
        ),
        EvidencePanel(
            f"Daily memory peaks of container {name}",
            distribution_chart(
                usage.memory_peaks,
                title=f"Daily memory peaks of {name}",
                markers=memory_markers,
                label=size_bytes,
            ),
            [Figure(k, size_bytes(v)) for k, v in peaks.items()]
            + [Figure("OOM kills", str(usage.oom_kills))],
        ),
    ]
    if not usage.gpu_memory.empty:
        gpu = usage.gpu_memory.percentiles()
        panels.append(
            EvidencePanel(
                f"GPU memory of container {name}",
                distribution_chart(
                    usage.gpu_memory,
                    title=f"GPU memory of {name}",
                    markers=_markers(usage.gpu_memory, None, None, ("p95", "max")),
                    label=size_bytes,
                ),
                [Figure(k, size_bytes(v)) for k, v in gpu.items()],
            )
        )
    return panels
