"""The copy model: prompts, multi-objective fine-tuning, generation and post-processing."""
