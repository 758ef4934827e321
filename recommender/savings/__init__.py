"""Savings counted once: recommendations touching the same workload or node are alternatives."""
