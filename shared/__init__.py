"""adcraft's common library: events, topics, settings and the Kafka/Redis/Triton adapters."""
