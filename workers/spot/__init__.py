"""Spot-notice fast path: plan the evacuation of a noticed node, auto-approve where allowed."""
