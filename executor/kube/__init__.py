"""Kubernetes API access for the executor (lightkube, objects as plain JSON)."""
