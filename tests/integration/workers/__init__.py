"""Integration tests of the workers against real PostgreSQL, Redis and a Kafka-API broker."""
