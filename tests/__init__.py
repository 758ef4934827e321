"""Slicewise test suite."""
