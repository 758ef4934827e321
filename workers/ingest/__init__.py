"""Snapshot ingest: fold each snapshot into the cluster's inventory and usage state."""
