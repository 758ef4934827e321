"""The in-cluster spot-notice endpoint: node-local watchers post notices straight to the executor.

Notices reach the executor this way even when the cluster cannot reach the SaaS, so the local
spot fallback always learns of them. The endpoint is a bounded HTTP/1.1 server on asyncio
streams; it needs no web framework, which keeps the executor's footprint small.
"""
