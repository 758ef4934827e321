"""Trace-driven GPU-sharing simulation: reading the traces, arrival sequences and the metric."""
