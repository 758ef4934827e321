"""Rightsizing: container requests (and limits where QoS calls for them) from usage history."""
