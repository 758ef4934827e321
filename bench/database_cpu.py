"""CPU time of the PostgreSQL backends serving one database, read from `/proc`.

The worker bench reports the database's own CPU per folded cluster-minute beside the worker's:
a batch's fold and its statements run one after the other, so both bound the throughput. Only
a server on this machine can be read (the bench's embedded one, or a local service); for any
other the figure is None.
"""

from __future__ import annotations

import os
from pathlib import Path


def backend_cpu_seconds(database: str, proc: Path = Path("/proc")) -> float | None:
    """User plus system CPU seconds of every live backend connected to `database`, or None if
    no such backend is visible here."""
    tick = os.sysconf("SC_CLK_TCK")
    total, found = 0.0, False
    for stat in proc.glob("[0-9]*/stat"):
        try:
            title = (stat.parent / "cmdline").read_bytes().split(b"\0")[0].split()
            fields = stat.read_text()
        except OSError:
            continue  # the process ended meanwhile
        # A backend's title: "postgres: [<cluster name>:] <role> <database> <client> <state>".
        if not title or title[0] != b"postgres:" or database.encode() not in title[1:]:
            continue
        after_name = fields[fields.rindex(")") + 2 :].split()
        total += (int(after_name[11]) + int(after_name[12])) / tick
        found = True
    return total if found else None
