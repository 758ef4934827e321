"""Inventory bodies written as pydantic's JSON text are the jsonb `json.dumps` of the dump gives."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import JsonValue
from sqlalchemy import text

from protocol.base import WireModel
from store.database import Database
from store.repositories.tenants import TenantView
from workers.ingest.inventory_items import stored_json

_FINITE = st.floats(allow_nan=False, allow_infinity=False)
_CHARACTERS = st.characters(exclude_characters="\x00")
"""Any character jsonb stores: PostgreSQL refuses NUL whichever encoding wrote it."""
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | _FINITE | st.text(_CHARACTERS, max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(_CHARACTERS, max_size=4), inner)
    ),
    max_leaves=12,
)


class _Figures(WireModel):
    """Floats and free JSON, as the protocol's models carry them."""

    figures: list[float]
    extra: dict[str, JsonValue]


async def _as_stored(database: Database, tenant: TenantView, body: str) -> str:
    async with database.tenant(tenant.id) as session:
        stored = await session.scalar(
            text("SELECT CAST(CAST(:b AS text) AS jsonb)::text"), {"b": body}
        )
    return str(stored)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    figures=st.lists(_FINITE, max_size=20),
    extra=st.dictionaries(st.text(_CHARACTERS, max_size=6), _JSON, max_size=4),
)
async def test_the_database_stores_what_json_dumps_of_the_dump_gave(
    database: Database, tenant: TenantView, figures: list[float], extra: dict[str, JsonValue]
) -> None:
    """Any finite floats, texts and nested JSON read back as the same jsonb text, to the digit
    and scale of every number."""
    model = _Figures(figures=figures, extra=extra)
    reference = json.dumps(model.model_dump(mode="json"))
    assert await _as_stored(database, tenant, stored_json(model)) == await _as_stored(
        database, tenant, reference
    )


def test_a_non_finite_float_is_written_as_json_dumps_writes_it() -> None:
    """Infinity and NaN keep the text the database refuses, and a string that spells one is
    written as before."""
    for model in (
        _Figures(figures=[float("inf"), float("nan")], extra={}),
        _Figures(figures=[], extra={"note": "NaN", "other": "-Infinity"}),
    ):
        assert stored_json(model) == json.dumps(model.model_dump(mode="json"))
