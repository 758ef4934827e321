"""Savings counted once: recommendations touching the same workload or node are alternatives or
a sequence, and each group counts once."""
