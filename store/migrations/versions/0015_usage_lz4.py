"""Usage states compress their state and demand documents with lz4 instead of pglz.

A batch rewrites every usage state it folded into: a state document of about 7 kB and a demand
ring of about 38 kB per container, both highly compressible, so PostgreSQL compresses them on
every write (TOAST compression starts at about 2 kB per row). lz4 compresses and decompresses
several times faster than pglz for about the same size. Only values written after the upgrade
use it; rows already stored stay readable as they are. The table's columns, grants and
row-level security are unchanged.

Revision ID: 0015_usage_lz4
Revises: 0014_ingest
Create Date: 2026-12-05 20:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0015_usage_lz4"
down_revision = "0014_ingest"
branch_labels = None
depends_on = None

_COLUMNS = ("state", "demand")


def upgrade(app_role: str) -> None:
    """Apply this revision (the table's grants and row-level security already cover it)."""
    del app_role
    for column in _COLUMNS:
        op.execute(f"ALTER TABLE usage_states ALTER COLUMN {column} SET COMPRESSION lz4")


def downgrade(app_role: str) -> None:
    """Revert this revision."""
    del app_role
    for column in _COLUMNS:
        op.execute(f"ALTER TABLE usage_states ALTER COLUMN {column} SET COMPRESSION pglz")
