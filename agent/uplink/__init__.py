"""Delivery to the gateway: OAuth2 client, spool, and the two sender lanes."""
