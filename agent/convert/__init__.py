"""Pure conversions from Kubernetes API objects (lightkube models) to `protocol` models.

No I/O and no clock reads: every function maps its arguments to a value, so each is tested
with hand-built objects.
"""
