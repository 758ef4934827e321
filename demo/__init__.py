"""The demo cluster: a realistic GPU cluster built from public traces, replayed through the agent.

`python -m demo` builds a cluster from the Alibaba GPU-sharing trace (nodes, pods, workloads),
draws usage from real series (Bitbrains CPU and memory, Alibaba GenAI GPU duty cycle and
memory), backfills simulated history in snapshots whose samples carry their simulated times,
then keeps reporting live, all through the real agent uplink (OAuth2, gzip, spool).
"""
