"""GPU utilisation and memory from an NVIDIA DCGM exporter (Prometheus text format)."""
