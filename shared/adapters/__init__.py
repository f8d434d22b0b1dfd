"""Adapters at the edges: Kafka producers and consumers, the Redis stores, the Triton
clients. Nothing else in adcraft opens a connection."""
