"""Unit tests of the recommendation console."""
