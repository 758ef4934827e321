"""A parser for the Prometheus text exposition format (version 0.0.4), samples only.

Only what a DCGM exporter emits is needed: gauges and counters with quoted labels. `# HELP` and
`# TYPE` lines are skipped; lines that do not parse are skipped too, so one odd series never
hides the rest of a scrape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}


@dataclass(frozen=True, slots=True)
class Sample:
    """One sample line: metric name, labels and value."""

    name: str
    labels: dict[str, str]
    value: float


class ExpositionError(ValueError):
    """A line is not in the text exposition format."""


def parse_exposition(text: str) -> list[Sample]:
    """Every well-formed sample of an exposition, in order."""
    samples = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            samples.append(parse_sample_line(stripped))
        except ExpositionError:
            continue
    return samples


def parse_sample_line(line: str) -> Sample:
    """Parse `name{label="value",...} value [timestamp]`."""
    match = _NAME.match(line)
    if match is None:
        raise ExpositionError(f"no metric name: {line!r}")
    name, pos = match.group(), match.end()
    labels: dict[str, str] = {}
    if pos < len(line) and line[pos] == "{":
        labels, pos = _parse_labels(line, pos + 1)
    fields = line[pos:].split()
    if not fields or len(fields) > 2:
        raise ExpositionError(f"no value: {line!r}")
    return Sample(name, labels, _parse_value(fields[0]))


def _parse_labels(line: str, pos: int) -> tuple[dict[str, str], int]:
    """Labels from just after `{`; returns them and the position after `}`."""
    labels: dict[str, str] = {}
    while True:
        pos = _skip_spaces(line, pos)
        if pos < len(line) and line[pos] == "}":
            return labels, pos + 1
        match = _LABEL_NAME.match(line, pos)
        if match is None:
            raise ExpositionError(f"bad label name at {pos}: {line!r}")
        pos = _skip_spaces(line, match.end())
        if line[pos : pos + 2] != '="':
            raise ExpositionError(f"bad label at {pos}: {line!r}")
        value, pos = _parse_quoted(line, pos + 2)
        labels[match.group()] = value
        pos = _skip_spaces(line, pos)
        if pos < len(line) and line[pos] == ",":
            pos += 1
        elif pos >= len(line) or line[pos] != "}":
            raise ExpositionError(f"unterminated labels: {line!r}")


def _parse_quoted(line: str, pos: int) -> tuple[str, int]:
    """A label value from just after its opening quote; returns it and the position after."""
    out: list[str] = []
    while pos < len(line):
        char = line[pos]
        if char == '"':
            return "".join(out), pos + 1
        if char == "\\" and pos + 1 < len(line):
            out.append(_ESCAPES.get(line[pos + 1], "\\" + line[pos + 1]))
            pos += 2
            continue
        out.append(char)
        pos += 1
    raise ExpositionError(f"unterminated label value: {line!r}")


def _parse_value(text: str) -> float:
    """A sample value; Python's float() reads `NaN`, `+Inf` and `-Inf` as the format spells them."""
    try:
        return float(text)
    except ValueError as e:
        raise ExpositionError(f"bad value {text!r}") from e


def _skip_spaces(line: str, pos: int) -> int:
    """The first position at or after `pos` that is not a space."""
    while pos < len(line) and line[pos] in " \t":
        pos += 1
    return pos
