"""Rows bound as one array parameter per column and unnested by the server.

A statement that takes its rows this way is one statement whatever the number of rows, compiled
once and executed once (a VALUES list of thousands of rows is compiled anew every time; an
executemany is one execution per row in the server).

A typed array parameter costs the driver a check per element, so columns travel in shapes it
checks little of: texts and JSON objects as one JSON text, columns of few distinct values as
runs, floats (which must arrive exactly, so in binary) as the rows of one two-dimensional array.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from itertools import groupby
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

_Value = TypeVar("_Value")


def json_texts(values: Sequence[str]) -> str:
    """A column of texts as one JSON array."""
    return json.dumps(list(values))


def unnested_texts(name: str) -> str:
    """SQL for the text[] the `json_texts` parameter `name` carries, in its order."""
    return f"ARRAY(SELECT json_array_elements_text(CAST(CAST(:{name} AS text) AS json)))"


def json_objects(objects: Sequence[str]) -> str:
    """A column of JSON object texts as one JSON array (each text already JSON)."""
    return f"[{','.join(objects)}]"


def unnested_jsonb(name: str) -> str:
    """SQL for the jsonb[] the `json_objects` parameter `name` carries, in its order."""
    return f"ARRAY(SELECT jsonb_array_elements(CAST(CAST(:{name} AS text) AS jsonb)))"


def float_rows(columns: Sequence[NDArray[np.float64]]) -> list[list[float]]:
    """Columns of floats (of one length) as one two-dimensional float8[] parameter, a row per
    column: the driver checks the elements of its first row only (one float8[] per column
    costs a check per element), and sends every float in binary, exactly."""
    return np.stack(columns).tolist()  # type: ignore[no-any-return]


def unnested_float_row(name: str, row: int) -> str:
    """SQL for the double precision[] of row `row` (from 1) of the `float_rows` parameter."""
    return f"ARRAY(SELECT unnest((CAST(:{name} AS double precision[]))[{row}:{row}]))"


def runs(values: Iterable[_Value]) -> tuple[list[_Value], list[int]]:
    """A column as its runs of equal values: each run's value and length, in order (a column
    of few distinct values, such as cluster ids and hours, is a few runs)."""
    found: list[_Value] = []
    lengths: list[int] = []
    for value, run in groupby(values):
        found.append(value)
        lengths.append(sum(1 for _ in run))
    return found, lengths


def unnested_runs(name: str, sql_type: str) -> str:
    """SQL for the array the `runs` parameters `name` (values, as `sql_type`[]) and
    `name_runs` (lengths) carry: each value repeated its run's length, in order."""
    # The series names the run's row, so it is joined inside each run, runs in order.
    return (
        f"ARRAY(SELECT x.value FROM unnest(CAST(:{name} AS {sql_type}[]),"  # noqa: S608 - names
        f" CAST(:{name}_runs AS integer[])) AS x(value, length), generate_series(1, x.length))"
    )
