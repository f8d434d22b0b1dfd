"""The reward model and the attribution join: what the reward worker learns, and what
the generator's online evaluation and offline readouts read the same way."""
