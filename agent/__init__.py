"""The in-cluster agent: watches the cluster and the cloud's spot notices, and reports both.

`python -m agent` runs the collector (kube watches, usage, GPU metrics) and its uplink;
`python -m agent spot-watcher` runs the node-local spot-notice watcher. Only `protocol` is
imported from the rest of Slicewise: the agent runs in customers' clusters and stays small.
"""

AGENT_VERSION = "0.1.0"
"""Reported in every snapshot (`ClusterSnapshot.agent_version`)."""

__all__ = ["AGENT_VERSION"]
