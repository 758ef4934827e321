"""Rows bound as one array parameter per column and unnested by the server.

A statement that takes its rows this way is one statement whatever the number of rows, compiled
once and executed once (a VALUES list of thousands of rows is compiled anew every time; an
executemany is one execution per row in the server).
"""

from __future__ import annotations

import json
from collections.abc import Sequence


def json_texts(values: Sequence[str]) -> str:
    """A column of texts as one JSON array: bound as one parameter, where a text[] parameter
    costs the driver a check and an encoding per element."""
    return json.dumps(list(values))


def unnested_texts(name: str) -> str:
    """SQL for the text[] the `json_texts` parameter `name` carries, in its order."""
    return f"ARRAY(SELECT json_array_elements_text(CAST(CAST(:{name} AS text) AS json)))"
