"""Spot-interruption notices: watched on each spot node, sent to the gateway and the executor.

The notices are read from the cloud's metadata service (AWS, GCP, Azure); each goes to the
gateway through the spooled uplink and, inside the cluster, straight to the executor.
"""
