"""Spot-interruption notices from the cloud's instance metadata service (AWS, GCP, Azure)."""
