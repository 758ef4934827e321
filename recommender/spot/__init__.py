"""Spot placement: readiness, on-demand floors, pool spreading, evacuation on notice."""
