"""Local launcher for the real services adcraft needs: Kafka-protocol broker, Redis, Triton."""

from shared.stack.stack import Stack, StackError

__all__ = ["Stack", "StackError"]
