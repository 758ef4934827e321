"""Slicewise integration tests."""
