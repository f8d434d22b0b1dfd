"""Local launcher for the real services adcraft needs: Kafka-protocol broker, Redis, Triton."""

from adcraft.services.stack.stack import Stack, StackError

__all__ = ["Stack", "StackError"]
