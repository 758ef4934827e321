"""Test infrastructure for a real Kubernetes API server."""
