"""The console's JSON API under `/v1/console` (session cookie or bearer token)."""
