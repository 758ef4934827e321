"""The in-cluster executor: applies signed, approved instructions safely, and acts on spot notices.

It polls the gateway for instructions, verifies each (signature, addressee, expiry, replay, local
allow-list), checks the preconditions against the live cluster, dry-runs every change on the API
server, applies, watches the changed workloads and rolls back on failure, then reports the result.
It imports nothing of Slicewise but `protocol`, so it stays small enough to run in every cluster.
"""

__version__ = "0.1.0"
