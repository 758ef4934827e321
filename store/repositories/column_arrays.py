"""Rows bound as one array parameter per column and unnested by the server.

A statement that takes its rows this way is one statement whatever the number of rows, compiled
once and executed once (a VALUES list of thousands of rows is compiled anew every time; an
executemany is one execution per row in the server).

Each column travels as one text the server turns into its array: a typed array parameter costs
the driver a check and an encoding per element.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray


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


def float_array(values: NDArray[np.float64]) -> str:
    """A column of floats as one PostgreSQL array literal.

    Each float is written as its shortest text that reads back as the same float (Python's
    repr), which PostgreSQL's float8 input reads back exactly: subnormals, -0.0, inf and nan
    included.
    """
    return array_literal(map(float.__repr__, values.tolist()))


def unnested_floats(name: str) -> str:
    """SQL for the double precision[] the `float_array` parameter `name` carries."""
    return f"CAST(CAST(:{name} AS text) AS double precision[])"


def array_literal(texts: Iterable[str]) -> str:
    """Texts that need no quoting in an array (uuids, ISO timestamps) as one PostgreSQL array
    literal."""
    return "{" + ",".join(texts) + "}"


def uuid_array(values: Sequence[tuple[uuid.UUID, int]]) -> str:
    """Each uuid repeated its count of times, in order, as one PostgreSQL array literal."""
    return array_literal(text for value, count in values for text in [str(value)] * count)


def timestamp_array(values: Sequence[datetime]) -> str:
    """Timestamps (a few distinct ones, many times each) as one PostgreSQL array literal of
    their UTC ISO texts; a naive one is taken as local time, as the driver takes it."""
    texts = {value: value.astimezone(UTC).isoformat() for value in set(values)}
    return array_literal(map(texts.__getitem__, values))
