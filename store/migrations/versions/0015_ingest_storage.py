"""Usage states compress their documents with lz4; tables rewritten every minute leave room for
their rows' next versions on the same page.

A batch rewrites every usage state it folded into: a state document of about 7 kB and a demand
ring of about 38 kB per container, both highly compressible, so PostgreSQL compresses them on
every write (TOAST compression starts at about 2 kB per row). lz4 compresses and decompresses
several times faster than pglz for about the same size. Only values written after the upgrade
use it; rows already stored stay readable as they are. A server built without lz4 (the embedded
PostgreSQL of a machine without services) keeps pglz: the setting is a storage detail, and the
schema is the same either way.

Every minute's upload also adds to each of its container-hours and node-hours of cost, and
rewrites its usage states. None of those updates changes an indexed column, so with room left
on the row's page the new version goes beside the old one without new index entries (a HOT
update); tables filled to the brim put it on another page and add an entry to every index.
Leaving a share of each page free (fillfactor) keeps those updates on the page. It applies to
pages written after the upgrade. The tables' columns, grants and row-level security are
unchanged.

Revision ID: 0015_ingest_storage
Revises: 0014_ingest
Create Date: 2026-12-05 20:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0015_ingest_storage"
down_revision = "0014_ingest"
branch_labels = None
depends_on = None

_COMPRESSED = ("state", "demand")
_LZ4_BUILT = (
    "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
)
"""Whether the server can compress with lz4 (it lists the methods it was built with)."""
_FILLFACTOR = {"cost_allocations": 70, "cost_node_hours": 70, "usage_states": 70}


def upgrade(app_role: str) -> None:
    """Apply this revision (the tables' grants and row-level security already cover it)."""
    del app_role
    if op.get_bind().exec_driver_sql(_LZ4_BUILT).scalar():
        for column in _COMPRESSED:
            op.execute(f"ALTER TABLE usage_states ALTER COLUMN {column} SET COMPRESSION lz4")
    for table, fillfactor in _FILLFACTOR.items():
        op.execute(f"ALTER TABLE {table} SET (fillfactor = {fillfactor})")


def downgrade(app_role: str) -> None:
    """Revert this revision."""
    del app_role
    for table in _FILLFACTOR:
        op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
    for column in _COMPRESSED:
        op.execute(f"ALTER TABLE usage_states ALTER COLUMN {column} SET COMPRESSION pglz")
