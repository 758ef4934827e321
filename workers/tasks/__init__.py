"""Celery task bodies as plain async functions, and their registration on a Celery app."""
