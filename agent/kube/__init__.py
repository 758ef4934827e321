"""Kubernetes API access: client, watched kinds, list-then-watch, permissions, metrics."""
