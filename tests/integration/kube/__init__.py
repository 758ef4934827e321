"""Integration tests against the real kube-apiserver harness."""
