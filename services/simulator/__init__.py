"""A world with known truth, the event streams its users produce, and logged exports."""
