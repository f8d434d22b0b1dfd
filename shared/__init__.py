"""adcraft's common library, in rooms: the contract every part speaks (``contract``), the
Kafka/Redis/Triton adapters (``adapters``), what every process runs on (``runtime``), and
the domain cores the workers share (``rewards``, ``copy_rules``)."""
