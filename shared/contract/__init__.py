"""The contract every part speaks: events and their codec, topics, Redis keys, the
models' tensors, and what untrusted text may be."""
