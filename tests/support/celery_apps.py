"""Closing a test's Celery app without leaving connections for the garbage collector."""

from __future__ import annotations

from celery import Celery


def close_app(app: Celery) -> None:
    """Close the result backend's connections (pub/sub included) and the app's broker pool."""
    app.backend.result_consumer.stop()
    app.backend.client.connection_pool.disconnect()
    app.close()
