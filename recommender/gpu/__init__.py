"""GPU sharing: MIG geometry, sharing advice from observed usage, and placement."""
