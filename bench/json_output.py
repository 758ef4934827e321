"""How every bench reports: one JSON document on stdout, and in `--out FILE` when given."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def emit(document: dict[str, Any], out: Path | None) -> None:
    """Print the document as JSON, and write it to `out` when given."""
    text = json.dumps(document, indent=2)
    print(text)
    if out is not None:
        out.write_text(text + "\n")
