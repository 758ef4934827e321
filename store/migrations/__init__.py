"""Alembic migrations of the Slicewise schema."""
