"""Demand rings stored in chunks of a day's steps, so a minute's fold rewrites only what it touched.

A usage state's two demand rings (CPU and GPU duty, about 20 kB each) lived whole in its row's
`demand` column: a minute's upload changes one five-minute slot of each, yet every write
compressed and stored both rings anew. Each ring is now kept as 14 chunks of 288 slots
(`usage_demand_chunks`, about 1.4 kB each: small enough to stay in the row, uncompressed), and
its newest step in the usage state's row (`demand_last_step`, `gpu_demand_last_step`). A missing
chunk is an empty one.

Rows written before keep their `demand` value and read as before; the next write of such a
state stores its rings as chunks and clears the column. A downgrade puts every state's chunks
back into its `demand` column.

Revision ID: 0016_demand_chunks
Revises: 0015_ingest_storage
Create Date: 2026-12-05 23:40:00
"""

from __future__ import annotations

import struct

import sqlalchemy as sa
from alembic import op

revision = "0016_demand_chunks"
down_revision = "0015_ingest_storage"
branch_labels = None
depends_on = None

TABLE = "usage_demand_chunks"
_KEY = ("cluster_id", "namespace", "workload_kind", "workload_name", "container")
_STEP_COLUMNS = ("demand_last_step", "gpu_demand_last_step")
_STEPS = 4032
_CHUNK_STEPS = 288
_HEADER = struct.Struct("<4sBxxxq")
"""A whole ring's header as the `demand` column stores it: magic, version, newest step."""


def upgrade(app_role: str) -> None:
    """Add the rings' newest steps to usage states, and the chunks table under tenant isolation."""
    for column in _STEP_COLUMNS:
        op.add_column(
            "usage_states",
            sa.Column(column, sa.BigInteger(), server_default="-1", nullable=False),
        )
    op.create_table(
        TABLE,
        sa.Column("cluster_id", sa.UUID(), nullable=False),
        sa.Column("namespace", sa.String(63), nullable=False),
        sa.Column("workload_kind", sa.String(64), nullable=False),
        sa.Column("workload_name", sa.String(253), nullable=False),
        sa.Column("container", sa.String(253), nullable=False),
        sa.Column("ring", sa.SmallInteger(), nullable=False),
        sa.Column("chunk", sa.SmallInteger(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("ring IN (0, 1)", name="ck_usage_demand_chunks_ring"),
        sa.ForeignKeyConstraint(
            list(_KEY), [f"usage_states.{column}" for column in _KEY], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint(*_KEY, "ring", "chunk"),
    )
    # Chunks are rewritten every minute: room on the page keeps the update beside the row.
    op.execute(f"ALTER TABLE {TABLE} SET (fillfactor = 70)")
    op.execute(f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {TABLE} "
        "USING (tenant_id = slicewise_current_tenant()) "
        "WITH CHECK (tenant_id = slicewise_current_tenant())"
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {TABLE} TO {app_role}")


def _whole_ring(last_step: int, chunks: dict[int, bytes]) -> bytes:
    """A ring as the `demand` column stores it, from its newest step and its chunks."""
    empty = bytes(_CHUNK_STEPS * 5)
    parts = [chunks.get(index, empty) for index in range(_STEPS // _CHUNK_STEPS)]
    sums = b"".join(part[: _CHUNK_STEPS * 4] for part in parts)
    minutes = b"".join(part[_CHUNK_STEPS * 4 :] for part in parts)
    return _HEADER.pack(b"SWDH", 1, last_step) + sums + minutes


def _restore_whole_rings() -> None:
    """Write every chunked state's rings back into its `demand` column (the GPU ring only if it
    has data, as before)."""
    bind = op.get_bind()
    key = ", ".join(_KEY)
    states = bind.execute(
        sa.text(
            f"SELECT {key}, demand_last_step, gpu_demand_last_step FROM usage_states"  # noqa: S608 - constant names
            " WHERE demand IS NULL AND (demand_last_step >= 0 OR gpu_demand_last_step >= 0)"
        )
    ).all()
    chunks: dict[tuple[object, ...], dict[int, dict[int, bytes]]] = {}
    for row in bind.execute(sa.text(f"SELECT {key}, ring, chunk, data FROM {TABLE}")):  # noqa: S608 - constant names
        rings = chunks.setdefault(tuple(row[:5]), {})
        rings.setdefault(int(row.ring), {})[int(row.chunk)] = bytes(row.data)
    match = " AND ".join(f"{column} = :{column}" for column in _KEY)
    update = sa.text(f"UPDATE usage_states SET demand = :demand WHERE {match}")  # noqa: S608 - constant names
    for state in states:
        rings = chunks.get(tuple(state[:5]), {})
        demand = _whole_ring(state.demand_last_step, rings.get(0, {}))
        if state.gpu_demand_last_step >= 0:
            demand += _whole_ring(state.gpu_demand_last_step, rings.get(1, {}))
        bind.execute(update, {"demand": demand, **dict(zip(_KEY, state[:5], strict=True))})


def downgrade(app_role: str) -> None:
    """Put the chunked rings back into the `demand` column; drop the chunks and the steps."""
    del app_role
    # The schema owner is itself subject to the tables' policies (FORCE): lift them while the
    # rows of every tenant are rewritten.
    op.execute("ALTER TABLE usage_states NO FORCE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {TABLE} NO FORCE ROW LEVEL SECURITY")
    _restore_whole_rings()
    op.execute("ALTER TABLE usage_states FORCE ROW LEVEL SECURITY")
    op.drop_table(TABLE)
    for column in _STEP_COLUMNS:
        op.drop_column("usage_states", column)
